"""Fake LoveDA archives with the official names, nesting and formats (scaled down: 32 px images).

    Train.zip: Train/{Urban,Rural}/{images_png,masks_png}/<id>.png
    Val.zip:   Val/{Urban,Rural}/{images_png,masks_png}/<id>.png
    Test.zip:  Test/{Urban,Rural}/images_png/<id>.png

Sources (read, not copied):
  [mmseg]  mmsegmentation tools/dataset_converters/loveda.py: Train.zip / Val.zip / Test.zip, each extracting to
           ``<Split>/<Rural|Urban>/<images_png|masks_png>/``; Test has no masks.
  [tg]     torchgeo datasets/loveda.py: Zenodo record 5706578; images three-channel 1024x1024 PNGs, masks
           single-channel PNGs, 0 = no-data, 1..7 = classes; a mask has its image's path with images_png ->
           masks_png, i.e. the same basename (the distractor: matching by basename takes masks for images).
  [gh]     https://github.com/Junjue-Wang/LoveDA: Train 2522 (Urban 1156, Rural 1366), Val 1669 (677, 992),
           Test 1796 (820, 976); ids are numbers, unique across domains and splits.
"""
import os.path as osp
import zipfile

import cv2
import numpy as np

COUNTS = {'Train': {'Urban': 3, 'Rural': 2}, 'Val': {'Urban': 2, 'Rural': 1}, 'Test': {'Urban': 1, 'Rural': 2}}
SIZE = 32


def png(arr: np.ndarray) -> bytes:
    return cv2.imencode('.png', arr)[1].tobytes()


def make_archives(root: str, seed: int = 0, size: int = SIZE, truth: dict = None) -> dict:
    """Write Train.zip, Val.zip, Test.zip under ``root``; returns {split: [ids]}; ``truth`` (if given) receives
    ``{id: (rgb image, mask or None)}``."""
    rng = np.random.default_rng(seed)
    next_id, ids = 0, {}
    for top, domains in COUNTS.items():
        with zipfile.ZipFile(osp.join(root, f'{top}.zip'), 'w') as zf:
            for domain, n in domains.items():
                for _ in range(n):
                    img_id = str(next_id)
                    next_id += 1
                    ids.setdefault(top.lower(), []).append(img_id)
                    img = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
                    zf.writestr(f'{top}/{domain}/images_png/{img_id}.png', png(img[..., ::-1]))
                    mask = None
                    if top != 'Test':
                        mask = rng.integers(0, 8, (size, size), dtype=np.uint8)
                        zf.writestr(f'{top}/{domain}/masks_png/{img_id}.png', png(mask))
                    if truth is not None:
                        truth[img_id] = (img, mask)
    return ids


def rewrite_member(zip_path: str, member: str, data: bytes) -> None:
    """Replace one member's bytes (to make damaged archives); ``data=None`` drops the member."""
    with zipfile.ZipFile(zip_path) as zf:
        items = [(i, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(zip_path, 'w') as zf:
        for info, payload in items:
            if info.filename != member or data is not None:
                zf.writestr(info, data if info.filename == member else payload)


def extract_all(root: str, dest: str) -> None:
    """The extracted tree ([tg]: ``<root>/Train/Urban/images_png/...``)."""
    for split in COUNTS:
        path = osp.join(root, f'{split}.zip')
        if osp.isfile(path):
            with zipfile.ZipFile(path) as zf:
                zf.extractall(dest)

"""Convert the official iSAID downloads (DOTA-v1.0 images + iSAID semantic masks) to tiled mmseg layout.

    python data_converters/isaid.py RAW [RAW ...] -o data/iSAID [--patch 896 --stride 512]
                                    [--test copy|tile|skip] [--nproc 4]

RAW is the download folder (https://captain-whu.github.io/iSAID/dataset.html; images are DOTA-v1.0
https://captain-whu.github.io/DOTA/dataset.html) with the archives as downloaded, or the tree they extract to
(torchgeo's ``train/images/P0000.png``, ``train/Semantic_masks/...``), or any mix; several RAW inputs may be given,
also single archives, as long as their path keeps ``<split>/images`` or ``<split>/Semantic_masks`` (the split is
only written there):

    train/images/part1.zip part2.zip part3.zip      (images/P0000.png ...)
    train/Semantic_masks/images.zip                  (images/P0000_instance_color_RGB.png ...)
    train/Instance_masks/images.zip                  (..._instance_id_RGB.png: instance ids, never read)
    val/images/part1.zip
    val/Semantic_masks/images.zip
    test/images/part1.zip part2.zip                  (optional; no labels are public)

Roles come from the split and product folder (``<split>/images/``, ``<split>/Semantic_masks/``), never from the file
name alone. A partial download (one image part of three, no test images, ...) converts the images whose mask is
there, skips the others with a warning listing them and compares the counts with the official ones; only nothing
usable is an error. Greyscale DOTA images (GF-2/JL-1 panchromatic) are written as 3 equal channels.

Output (the layout of mmseg's iSAIDDataset and configs/_base_/datasets/isaid.py):

    OUT/img_dir/{train,val}/P0000_<y1>_<y2>_<x1>_<x2>.png
    OUT/ann_dir/{train,val}/P0000_<y1>_<y2>_<x1>_<x2>_instance_color_RGB.png   (uint8 ids, despite the name)
    OUT/img_dir/test/P0000.png                       (--test copy: the raw image, byte for byte)
    OUT/splits/{train,val,test}.txt, OUT/splits/all.txt (``<split>/<name>``, train + val)

Labels: the iSAID colours become ids 0 = background, 1..15 = ship ... harbor (mmseg's order; the OVRSISBench
15-class vocabulary is the same order without background). Images smaller than a patch are padded
bottom/right (image 0, label 255). Windows step by --stride and the last row/column is shifted back to end at
the border (the windows of mmseg's converter without its duplicates). Protocols:

    --patch 896 --stride 512   (default) mmseg / PointFlow / SCSM: 33,978 train / 11,644 val patches
    --patch 512 --stride 512   non-overlapping 512 patches
    --patch 256 --stride 256   the 256x256 crops of the OVRSISBench bundle (its file names P0002_1030_1286_...
                               show 256 crops; its 18,076 / 6,363 counts are a filtered iSAID-5i subset)
"""
import argparse
import os
import os.path as osp
import re
import sys
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

# helpers without the torch/mmseg start-up (see _common.py)
from _common import (atomic_write_bytes, atomic_write_png, ConversionError, decode_image,  # noqa: E402
                    print_summary, rgb_to_index, run_tasks, slide_grid, start_run, write_split_list)
from _sources import Member, assign, list_members, read_bytes, require_some, warn_missing  # noqa: E402

URL = 'https://captain-whu.github.io/iSAID/dataset.html'
LABEL_SUFFIX = '_instance_color_RGB'
COLOURS = [(0, 0, 0), (0, 0, 63), (0, 63, 63), (0, 63, 0), (0, 63, 127), (0, 63, 191), (0, 63, 255), (0, 127, 63),
           (0, 127, 127), (0, 0, 127), (0, 0, 191), (0, 0, 255), (0, 191, 127), (0, 127, 191), (0, 127, 255),
           (0, 100, 155)]
PALETTE = {c: i for i, c in enumerate(COLOURS)}
EXPECTED_IMAGES = dict(train=1411, val=458, test=937)
EXPECTED_PATCHES = {(896, 512): dict(train=33978, val=11644)}
# group 1 = split, group 2 = image id; between the product folder and the file: the archive and its folder
IMAGE_RE = re.compile(r'(?:^|/)(train|val|test)/images/(?:[^/]+/)*(P\d{4})\.png$')
LABEL_RE = re.compile(r'(?:^|/)(train|val)/Semantic_masks/(?:[^/]+/)*(P\d{4})_instance_color_RGB\.png$')
INSTANCE_RE = re.compile(r'(?:^|/)(train|val)/Instance_masks/(?:[^/]+/)*(P\d{4})_instance_id_RGB\.png$')


def patch_name(image: str, box: Tuple[int, int, int, int]) -> str:
    y1, x1, y2, x2 = box
    return f'{image}_{y1}_{y2}_{x1}_{x2}'


def _marker(out_dir: str, split: str, name: str) -> str:
    return osp.join(out_dir, '.progress', split, f'{name}.done')


def _pad(arr: np.ndarray, h: int, w: int, value: int) -> np.ndarray:
    pad = [(0, max(h - arr.shape[0], 0)), (0, max(w - arr.shape[1], 0))] + [(0, 0)] * (arr.ndim - 2)
    return np.pad(arr, pad, constant_values=value)


def _where(src: Tuple[str, str]) -> str:
    return f'{src[0]}:{src[1]}' if src[0] else src[1]


def tile_image(split: str, img_src: Tuple[str, str], lab_src: Optional[Tuple[str, str]], out_dir: str,
               name: str, patch: int, stride: int) -> Tuple[str, int]:
    """Cut one image (and its colour mask) into patches; returns (split, 1)."""
    import cv2
    img_where = _where(img_src)
    img = decode_image(read_bytes(img_src), img_where, cv2.IMREAD_COLOR)  # BGR; greyscale -> 3 equal channels
    lab = None
    if lab_src is not None:
        lab_where = _where(lab_src)
        bgr = decode_image(read_bytes(lab_src), lab_where, cv2.IMREAD_COLOR)
        if bgr.shape[:2] != img.shape[:2]:
            raise ConversionError(f'image {img_where} is {img.shape[1]}x{img.shape[0]} but its mask {lab_where} '
                                  f'is {bgr.shape[1]}x{bgr.shape[0]}')
        lab = rgb_to_index(bgr[..., ::-1], PALETTE, lab_where)
    h, w = max(img.shape[0], patch), max(img.shape[1], patch)
    img = _pad(img, h, w, 0)  # small images: pad so that every patch has the full size
    lab = None if lab is None else _pad(lab, h, w, 255)
    for box in slide_grid(h, w, patch, stride):
        y1, x1, y2, x2 = box
        piece = patch_name(name, box)
        if lab is not None:
            atomic_write_png(osp.join(out_dir, 'ann_dir', split, f'{piece}{LABEL_SUFFIX}.png'), lab[y1:y2, x1:x2])
        atomic_write_png(osp.join(out_dir, 'img_dir', split, f'{piece}.png'), np.ascontiguousarray(img[y1:y2,
                                                                                                         x1:x2]))
    atomic_write_bytes(_marker(out_dir, split, name), b'')  # all patches are on disk
    return split, 1


def copy_image(split: str, img_src: Tuple[str, str], out_dir: str, name: str) -> Tuple[str, int]:
    data = read_bytes(img_src)
    decode_image(data, _where(img_src))  # a corrupt member fails here, not at test time
    atomic_write_bytes(osp.join(out_dir, 'img_dir', split, f'{name}.png'), data)
    return split, 1


def _logical(raw: str) -> str:
    """The last two folders above ``raw`` (or above an archive given alone): where ``<split>/images`` is written
    when the input is ``iSAID/train``, ``iSAID/train/images`` or ``.../train/images/part1.zip``."""
    folder = osp.abspath(raw if osp.isdir(raw) else osp.dirname(raw))
    parts = [p for p in folder.split(os.sep) if p][-2:]
    return '/'.join(parts)


def index(raws: Sequence[str]) -> Dict[str, Dict[str, Member]]:
    """``{'img'|'lab'|'instance': {'<split>/<id>': member}}`` over every input."""
    members = []
    for raw in raws:
        prefix = _logical(raw)
        members += [m._replace(path=f'{prefix}/{m.path}') for m in list_members(raw, 'iSAID', URL)]
    return assign(members, dict(img=IMAGE_RE, lab=LABEL_RE, instance=INSTANCE_RE),
                  key=lambda mt: f'{mt.group(1)}/{mt.group(2)}', exclusive=True)


def convert(raw_dir: Union[str, Sequence[str]], out_dir: str, nproc: int = 1, patch: int = 896, stride: int = 512,
            test: str = 'copy') -> Tuple[Dict[str, int], Dict[str, int]]:
    if patch <= 0 or stride <= 0:
        raise ConversionError(f'--patch and --stride must be positive, got {patch} / {stride}')
    if test not in ('copy', 'tile', 'skip'):
        raise ConversionError(f'--test must be copy, tile or skip, got {test!r}')
    raws = [raw_dir] if isinstance(raw_dir, str) else list(raw_dir)
    start_run(out_dir)
    roles = index(raws)
    imgs, labs = roles['img'], roles['lab']
    tasks, images, orphans = [], {}, {}
    for split in ('train', 'val'):
        ids = sorted(k.split('/')[1] for k in imgs if k.startswith(f'{split}/'))
        masks = sorted(k.split('/')[1] for k in labs if k.startswith(f'{split}/'))
        pairs = sorted(set(ids) & set(masks))
        orphans[f'{split} images without a Semantic_masks mask'] = [imgs[f'{split}/{i}'].where
                                                                     for i in sorted(set(ids) - set(masks))]
        orphans[f'{split} masks without an image'] = [labs[f'{split}/{i}'].where
                                                      for i in sorted(set(masks) - set(ids))]
        for name in pairs:
            tasks.append((tile_image, (split, imgs[f'{split}/{name}'].src, labs[f'{split}/{name}'].src, out_dir,
                                       name, patch, stride), [_marker(out_dir, split, name)]))
        if pairs:
            images[split] = pairs
    test_ids = sorted(k.split('/')[1] for k in imgs if k.startswith('test/')) if test != 'skip' else []
    for name in test_ids:
        src = imgs[f'test/{name}'].src
        if test == 'copy':
            tasks.append((copy_image, ('test', src, out_dir, name),
                          [osp.join(out_dir, 'img_dir', 'test', f'{name}.png')]))
        else:
            tasks.append((tile_image, ('test', src, None, out_dir, name, patch, stride),
                          [_marker(out_dir, 'test', name)]))
    if test_ids:
        images['test'] = test_ids
    require_some(len(tasks), 'iSAID', 'image (train/val image with its mask, or a test image)', ', '.join(raws),
                 f'found {len(imgs)} image(s) and {len(labs)} mask(s) under <split>/images and '
                 f'<split>/Semantic_masks. Pass the download folder (train/, val/, test/ with the archives as '
                 f'downloaded from {URL}) or the tree they extract to.')
    for split in ('train', 'val', 'test'):
        if split != 'test' or test != 'skip':
            warn_missing('iSAID', f'{split} images', len(images.get(split, [])), EXPECTED_IMAGES[split])
    warn_missing('iSAID', 'images', 0, None, orphans=orphans)
    counts = run_tasks(tasks, nproc=nproc, desc='iSAID')
    every = []
    for split, names in images.items():
        wanted = set(names)
        folder = osp.join(out_dir, 'img_dir', split)
        # a patch is <id>_<y1>_<y2>_<x1>_<x2>.png, a copied test image <id>.png: the id is before the first '_'
        pieces = sorted(f[:-4] for f in os.listdir(folder)
                        if f.endswith('.png') and f[:-4].split('_', 1)[0] in wanted)
        write_split_list(osp.join(out_dir, 'splits', f'{split}.txt'), pieces)
        if split != 'test':
            counts[f'{split} patches'] = len(pieces)
            every += [f'{split}/{p}' for p in pieces]
    write_split_list(osp.join(out_dir, 'splits', 'all.txt'), every)
    expected = {k: v for k, v in EXPECTED_IMAGES.items() if k in images}
    expected.update({f'{k} patches': v for k, v in EXPECTED_PATCHES.get((patch, stride), {}).items()})
    return counts, expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('raw_dir', nargs='+', help='folder holding {train,val,test}/images/*.zip and '
                                                   '{train,val}/Semantic_masks/*.zip as downloaded, or the extracted '
                                                   'tree (several inputs may be given)')
    parser.add_argument('-o', '--out-dir', default='data/iSAID')
    parser.add_argument('--nproc', type=int, default=1)
    parser.add_argument('--patch', type=int, default=896, help='patch size (default 896)')
    parser.add_argument('--stride', type=int, default=512, help='window step (default 512 = overlap 384)')
    parser.add_argument('--test', choices=['copy', 'tile', 'skip'], default='copy',
                        help='test images: copy whole (default, as mmseg), tile like train/val, or skip')
    args = parser.parse_args()
    try:
        counts, expected = convert(args.raw_dir, args.out_dir, args.nproc, args.patch, args.stride, args.test)
    except ConversionError as e:
        sys.exit(f'isaid: {e}')
    print_summary(counts, expected, args.out_dir)


if __name__ == '__main__':
    main()

"""A fake iSAID download built from the official descriptions (scaled down: tens of pixels instead of 800-4000).

Sources (read, not copied):
  [mmseg-doc] mmsegmentation docs/en/user_guides/2_dataset_prepare.md (iSAID): ``iSAID/{train,val,test}/images/
              part<k>.zip`` (train part1-3, val part1, test part1-2) and ``{train,val}/Semantic_masks/images.zip``.
  [mmseg-cv]  mmsegmentation tools/dataset_converters/isaid.py: image zips extract to ``images/P<nnnn>.png``, mask
              zips to ``images/P<nnnn>_instance_color_RGB.png`` (the 16-colour palette below); test images have no
              masks; images are read with ``.convert('RGB')``.
  [tg]        torchgeo datasets/isaid.py: the extracted split folder holds ``images/``,
              ``Annotations/iSAID_<split>.json``, ``Instance_masks/`` and ``Semantic_masks/``.
  [dota]      https://captain-whu.github.io/DOTA/dataset.html: "DOTA consists of RGB images and grayscale images ...
              the grayscale images are from the panchromatic band of GF-2 and JL-1 ... stored in 'png' formats";
              sizes from about 800x800 to 4000x4000.
The instance masks (``P<nnnn>_instance_id_RGB.png``, one colour per object, off the semantic palette) are the
distractor: a converter that took them for labels fails on their colours, one that took them for images fails the
provenance check.
"""
import json
import os
import os.path as osp
import zipfile

import cv2
import numpy as np

COLOURS = [(0, 0, 0), (0, 0, 63), (0, 63, 63), (0, 63, 0), (0, 63, 127), (0, 63, 191), (0, 63, 255), (0, 127, 63),
           (0, 127, 127), (0, 0, 127), (0, 0, 191), (0, 0, 255), (0, 191, 127), (0, 127, 191), (0, 127, 255),
           (0, 100, 155)]  # [mmseg-cv] iSAID_palette, ids 0..15
# split -> {archive: {image id: (h, w)}} [mmseg-doc]; P0003 is smaller than a 32 patch (padding); P0005 greyscale
LAYOUT = {'train': {'part1.zip': {'P0000': (40, 56)}, 'part2.zip': {'P0001': (32, 32), 'P0003': (20, 40)},
                    'part3.zip': {'P0005': (36, 36)}},
          'val': {'part1.zip': {'P0002': (48, 40)}},
          'test': {'part1.zip': {'P0006': (30, 30)}, 'part2.zip': {'P0004': (34, 28)}}}
GREY = {'P0005'}  # [dota] panchromatic GF-2/JL-1 images


def png(arr: np.ndarray) -> bytes:
    return cv2.imencode('.png', arr)[1].tobytes()


def make_download(root: str, seed=0) -> dict:
    """Write the archives under root/{train,val,test}/...; returns {id: (rgb image, index label 0..15 or None)}
    (a greyscale image is returned as 3 equal channels, what the converter must write)."""
    rng = np.random.default_rng(seed)
    truth = {}
    for split, zips in LAYOUT.items():
        os.makedirs(osp.join(root, split, 'images'), exist_ok=True)
        masks, instances = {}, {}
        for zname, items in zips.items():
            with zipfile.ZipFile(osp.join(root, split, 'images', zname), 'w') as zf:
                for pid, (h, w) in items.items():
                    if pid in GREY:
                        grey = rng.integers(0, 256, (h, w), dtype=np.uint8)
                        zf.writestr(f'images/{pid}.png', png(grey))  # 1-channel PNG
                        img = np.repeat(grey[..., None], 3, -1)
                    else:
                        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                        zf.writestr(f'images/{pid}.png', png(img[..., ::-1]))
                    idx = rng.integers(0, 16, (h // 4 + 1, w // 4 + 1)).repeat(4, 0).repeat(4, 1)[:h, :w]
                    masks[pid] = np.array(COLOURS, np.uint8)[idx]
                    instances[pid] = rng.integers(1, 256, (h, w, 3), dtype=np.uint8)  # object ids as colours
                    truth[pid] = (img, idx if split != 'test' else None)
        if split == 'test':
            continue
        for folder, suffix, arrays in (('Semantic_masks', 'instance_color_RGB', masks),
                                       ('Instance_masks', 'instance_id_RGB', instances)):
            os.makedirs(osp.join(root, split, folder), exist_ok=True)
            with zipfile.ZipFile(osp.join(root, split, folder, 'images.zip'), 'w') as zf:
                for pid, rgb in arrays.items():
                    zf.writestr(f'images/{pid}_{suffix}.png', png(rgb[..., ::-1]))
        os.makedirs(osp.join(root, split, 'Annotations'), exist_ok=True)  # [tg] COCO json, not read
        with open(osp.join(root, split, 'Annotations', f'iSAID_{split}.json'), 'w') as f:
            json.dump(dict(images=[dict(id=i, file_name=f'{p}.png') for i, p in enumerate(masks)], annotations=[],
                           categories=[]), f)
    return truth


def extract_tree(root: str, dest: str) -> None:
    """The extracted layout [tg]: ``<split>/images/P0000.png``, ``<split>/Semantic_masks/images/...``."""
    for dirpath, _, files in os.walk(root):
        rel = osp.relpath(dirpath, root)
        for f in files:
            if f.endswith('.zip'):
                with zipfile.ZipFile(osp.join(dirpath, f)) as zf:
                    for m in zf.namelist():
                        # image parts extract into the images folder itself; mask archives keep their images/
                        target = osp.join(dest, rel, osp.basename(m) if rel.endswith('images') else m)
                        os.makedirs(osp.dirname(target), exist_ok=True)
                        open(target, 'wb').write(zf.read(m))
            else:
                os.makedirs(osp.join(dest, rel), exist_ok=True)
                open(osp.join(dest, rel, f), 'wb').write(open(osp.join(dirpath, f), 'rb').read())

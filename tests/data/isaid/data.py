"""A fake iSAID download: DOTA-v1.0 image part zips + iSAID Semantic_masks zips, official names and nesting."""
import os
import os.path as osp
import zipfile

import cv2
import numpy as np

COLOURS = [(0, 0, 0), (0, 0, 63), (0, 63, 63), (0, 63, 0), (0, 63, 127), (0, 63, 191), (0, 63, 255), (0, 127, 63),
           (0, 127, 127), (0, 0, 127), (0, 0, 191), (0, 0, 255), (0, 191, 127), (0, 127, 191), (0, 127, 255),
           (0, 100, 155)]
# split -> {zip name: {image id: (h, w)}}; P0003 is smaller than a patch (padding)
LAYOUT = {'train': {'part1.zip': {'P0000': (40, 56)}, 'part2.zip': {'P0001': (32, 32), 'P0003': (20, 40)}},
          'val': {'part1.zip': {'P0002': (48, 40)}},
          'test': {'part1.zip': {'P0004': (30, 30)}}}


def png(arr: np.ndarray) -> bytes:
    return cv2.imencode('.png', arr)[1].tobytes()


def make_download(root: str, seed=0) -> dict:
    """Write the archives under root/{train,val,test}/...; returns {id: (rgb image, index label 0..15)}."""
    rng = np.random.default_rng(seed)
    truth = {}
    for split, zips in LAYOUT.items():
        os.makedirs(osp.join(root, split, 'images'), exist_ok=True)
        masks = {}
        for zname, items in zips.items():
            with zipfile.ZipFile(osp.join(root, split, 'images', zname), 'w') as zf:
                for pid, (h, w) in items.items():
                    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
                    idx = rng.integers(0, 16, (h // 4, w // 4)).repeat(4, 0).repeat(4, 1)
                    zf.writestr(f'images/{pid}.png', png(img[..., ::-1]))
                    masks[pid] = np.array(COLOURS, np.uint8)[idx]
                    truth[pid] = (img, idx)
        if split != 'test':
            os.makedirs(osp.join(root, split, 'Semantic_masks'), exist_ok=True)
            with zipfile.ZipFile(osp.join(root, split, 'Semantic_masks', 'images.zip'), 'w') as zf:
                for pid, rgb in masks.items():
                    zf.writestr(f'images/{pid}_instance_color_RGB.png', png(rgb[..., ::-1]))
    return truth

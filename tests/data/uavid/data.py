"""A fake UAVid release: official archive name and nesting, colour labels in the official palette (scaled down)."""
import os.path as osp
import zipfile

import cv2
import numpy as np

COLOURS = [(128, 0, 0), (128, 64, 128), (0, 128, 0), (128, 128, 0), (64, 0, 128), (192, 0, 192), (64, 64, 0),
           (0, 0, 0)]
LAYOUT = {'train': {'seq1': 2, 'seq2': 2}, 'val': {'seq16': 2}, 'test': {'seq21': 1}}


def png(arr: np.ndarray) -> bytes:
    return cv2.imencode('.png', arr)[1].tobytes()


def make_release(root: str, size=(36, 60), seed=0) -> dict:
    """Write uavid_v1.5_official_release_image.zip; returns {(split, seq, frame): (rgb image, index label)}."""
    rng = np.random.default_rng(seed)
    truth = {}
    top = 'uavid_v1.5_official_release_image'
    with zipfile.ZipFile(osp.join(root, f'{top}.zip'), 'w') as zf:
        for split, seqs in LAYOUT.items():
            for seq, n in seqs.items():
                for i in range(n):
                    frame = f'{i * 100:06d}'
                    img = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
                    idx = rng.integers(0, 8, (size[0] // 6 + 1, size[1] // 6 + 1)).repeat(6, 0).repeat(6, 1)
                    idx = idx[:size[0], :size[1]]
                    zf.writestr(f'{top}/uavid_{split}/{seq}/Images/{frame}.png', png(img[..., ::-1]))
                    if split != 'test':
                        rgb = np.array(COLOURS, np.uint8)[idx]
                        zf.writestr(f'{top}/uavid_{split}/{seq}/Labels/{frame}.png', png(rgb[..., ::-1]))
                    truth[(split, seq, frame)] = (img, idx)
    return truth

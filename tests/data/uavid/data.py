"""A fake UAVid release: official archive name and nesting, colour labels in the official palette (scaled down).

Sources (read, not copied):
  [uavid]  https://uavid.nl/ and the UAVid paper (Lyu et al., ISPRS J. 2020): ``uavid_v1.5_official_release_image.zip``;
           42 sequences of 10 frames (one every 100 frames: 000000 ... 000900), frames of 4096x2160 or 3840x2160;
           train 20 / val 7 / test 15 sequences; test labels are not public; 8 classes with these colours.
  [users]  public loaders of the release: ``uavid_v1.5_official_release_image/uavid_{train,val,test}/seq<N>/
           {Images,Labels}/<frame>.png``; extracting on Windows doubles the top folder
           (``uavid_v1.5_official_release_image/uavid_v1.5_official_release_image/uavid_train``).
Labels and images share the frame name (``Images/000100.png`` and ``Labels/000100.png``): the distractor for a
converter that matches by basename.
"""
import os.path as osp
import zipfile

import cv2
import numpy as np

COLOURS = [(128, 0, 0), (128, 64, 128), (0, 128, 0), (128, 128, 0), (64, 0, 128), (192, 0, 192), (64, 64, 0),
           (0, 0, 0)]  # [uavid] building, road, tree, low vegetation, moving car, static car, human, clutter
LAYOUT = {'train': {'seq1': 2, 'seq2': 2}, 'val': {'seq16': 2}, 'test': {'seq21': 1}}
SIZES = {'seq2': (36, 64)}  # 3840 vs 4096 wide, scaled [uavid]; the others 36x60
TOP = 'uavid_v1.5_official_release_image'


def png(arr: np.ndarray) -> bytes:
    return cv2.imencode('.png', arr)[1].tobytes()


def make_release(root: str, size=(36, 60), seed=0) -> dict:
    """Write uavid_v1.5_official_release_image.zip; returns {(split, seq, frame): (rgb image, index label)}."""
    rng = np.random.default_rng(seed)
    truth = {}
    with zipfile.ZipFile(osp.join(root, f'{TOP}.zip'), 'w') as zf:
        for split, seqs in LAYOUT.items():
            for seq, n in seqs.items():
                h, w = SIZES.get(seq, size)
                for i in range(n):
                    frame = f'{i * 100:06d}'
                    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
                    idx = rng.integers(0, 8, (h // 6 + 1, w // 6 + 1)).repeat(6, 0).repeat(6, 1)[:h, :w]
                    zf.writestr(f'{TOP}/uavid_{split}/{seq}/Images/{frame}.png', png(img[..., ::-1]))
                    if split != 'test':
                        rgb = np.array(COLOURS, np.uint8)[idx]
                        zf.writestr(f'{TOP}/uavid_{split}/{seq}/Labels/{frame}.png', png(rgb[..., ::-1]))
                    truth[(split, seq, frame)] = (img, idx)
    return truth


def extract(root: str, dest: str) -> None:
    """Extract the release the way a Windows "Extract all" does [users]: into a folder named like the archive."""
    with zipfile.ZipFile(osp.join(root, f'{TOP}.zip')) as zf:
        zf.extractall(osp.join(dest, TOP))

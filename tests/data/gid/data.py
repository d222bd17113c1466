"""A fake GID-5 release: one zip with the official folder names (spaces included), RGB TIFF scenes and colour
TIFF labels named <scene>_label.tif."""
import os.path as osp
import zipfile

import cv2
import numpy as np

COLOURS = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 255, 255), (255, 255, 0), (0, 0, 255)]
COLOURS15 = [(0, 0, 0), (200, 0, 0), (250, 0, 150), (200, 150, 150), (250, 150, 150), (0, 200, 0), (150, 250, 0),
             (150, 200, 150), (200, 0, 200), (150, 0, 250), (150, 150, 250), (250, 200, 0), (200, 200, 0),
             (0, 0, 200), (0, 150, 200), (0, 200, 250)]
TOP = 'Large-scale Classification_5classes'
TOP15 = 'Fine Land-cover Classification_15classes'
SCENES = [f'GF2_PMS1__L1A00005{i:05d}-MSS1' for i in range(5)]


def tif(rgb: np.ndarray) -> bytes:
    return cv2.imencode('.tif', rgb[..., ::-1])[1].tobytes()


def make_release(root: str, size=(40, 48), seed=0, classes: int = 5) -> dict:
    """Write the GID-5 (or GID-15) archive; returns {scene: (rgb image, label 0 = unlabeled / 1..K)}."""
    rng = np.random.default_rng(seed)
    truth = {}
    top, colours = (TOP, COLOURS) if classes == 5 else (TOP15, COLOURS15)
    with zipfile.ZipFile(osp.join(root, f'{top}.zip'), 'w') as zf:
        for scene in SCENES:
            img = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
            idx = rng.integers(0, classes + 1, (size[0] // 8, size[1] // 8)).repeat(8, 0).repeat(8, 1)
            zf.writestr(f'{top}/image_RGB/{scene}.tif', tif(img))
            zf.writestr(f'{top}/label_{classes}classes/{scene}_label.tif', tif(np.array(colours, np.uint8)[idx]))
            truth[scene] = (img, idx)
    return truth

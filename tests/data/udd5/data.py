"""A fake UDD5 release (Urban Drone Dataset), scaled down, built from the official description -- not from the
converter.

Facts and their sources (https://github.com/MarcWong/UDD, readme):
* The release folders: ``src`` (the source images, ``DJI_XXXX.JPG``), ``gt`` (ground truth), ``ori`` and
  ``visualization`` (colour renderings) -- the readme's naming rule ("/src 原图, /gt ground truth, /ori,
  /visualization"); UDD-5 ships ``train/`` and ``val/`` ("UDD-5(train, val)" on the download line).
* UDD5 classes with their "Gt Label" and RGB: Vegetation 0 (107,142,35), Building 1 (102,102,156), Road 2
  (128,64,128), Vehicle 3 (0,0,142), Other 4 (0,0,0) -- gt PNGs hold the label values (VDD's readme: "UDD
  provides source images, ground truth (png files with values 0~5)"); the visualization/ PNGs hold the colours
  under the SAME file names as gt/.
* Images are JPEG (``.JPG``); 120 train / 40 val in the release (the converter's official counts, not restated by
  the readme). Here 30x40 px.
"""
import io
import os
import os.path as osp
import zipfile

import numpy as np
from PIL import Image

COLOURS = [(107, 142, 35), (102, 102, 156), (128, 64, 128), (0, 0, 142), (0, 0, 0)]
LAYOUT = {'train': 3, 'val': 2}


def encode(arr: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt, **({'quality': 95} if fmt == 'JPEG' else {}))
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    """What cv2 decodes (the converter's decoder), as RGB."""
    import cv2
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]


def emit(root: str, top: str, files: dict, form: str) -> str:
    """'zip': root/<top>.zip with members <top>/...; 'tree': the extracted root/<top>/..."""
    if form == 'zip':
        path = osp.join(root, f'{top}.zip')
        with zipfile.ZipFile(path, 'w') as zf:
            for name, data in files.items():
                zf.writestr(f'{top}/{name}', data)
        return path
    for name, data in files.items():
        full = osp.join(root, top, name)
        os.makedirs(osp.dirname(full), exist_ok=True)
        with open(full, 'wb') as f:
            f.write(data)
    return osp.join(root, top)


def make_release(root: str, size=(30, 40), seed: int = 0, form: str = 'zip', drop_labels=(), drop_images=(),
                 colour_gt: bool = False) -> dict:
    """Write UDD5 (``form`` 'zip' or 'tree'); returns {(split, name): (decoded rgb image, index label)} of the
    complete pairs and 'path'. ``colour_gt``: gt/ holds the colour rendering (the converter accepts both)."""
    rng = np.random.default_rng(seed)
    truth, files = {}, {}
    for split, n in LAYOUT.items():
        for i in range(n):
            name = f'DJI_{i + 10 * len(split):04d}'
            data = encode(rng.integers(0, 256, (*size, 3), dtype=np.uint8), 'JPEG')
            idx = rng.integers(0, 5, (size[0] // 5, size[1] // 5)).repeat(5, 0).repeat(5, 1).astype(np.uint8)
            colour = np.array(COLOURS, np.uint8)[idx]
            if name not in drop_images:
                files[f'{split}/src/{name}.JPG'] = data
            if name not in drop_labels:
                files[f'{split}/gt/{name}.png'] = encode(colour if colour_gt else idx, 'PNG')
            files[f'{split}/visualization/{name}.png'] = encode(colour, 'PNG')
            if name not in drop_images and name not in drop_labels:
                truth[(split, name)] = (decode(data), idx)
    truth['path'] = emit(root, 'UDD5', files, form)
    return truth

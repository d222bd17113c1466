"""A fake DLRSD: UCMerced_LandUse.zip (TIFF images) + DLRSD.zip (palette-PNG colour labels), official names."""
import io
import os.path as osp
import zipfile

import numpy as np
from PIL import Image

PALETTE = [(166, 202, 240), (128, 128, 0), (0, 0, 128), (255, 0, 0), (0, 128, 0), (128, 0, 0), (255, 233, 233),
           (160, 160, 164), (0, 128, 128), (90, 87, 255), (255, 255, 0), (255, 192, 0), (0, 0, 255),
           (255, 0, 192), (128, 0, 128), (0, 255, 0), (0, 255, 255)]
CATEGORIES = ('airplane', 'harbor')
NUMBERS = range(10)  # 00..09 per category -> every 5th (04, 09) is val


def encode(arr: np.ndarray, fmt: str, palette: bool = False) -> bytes:
    buf = io.BytesIO()
    if palette:  # DLRSD-style palette PNG: indices into a colour table
        im = Image.fromarray(arr.astype(np.uint8), 'P')
        flat = [v for c in PALETTE for v in c]
        im.putpalette(flat + [0] * (768 - len(flat)))
    else:
        im = Image.fromarray(arr)
    im.save(buf, fmt)
    return buf.getvalue()


def make_archives(root: str, size=(24, 24), seed=0) -> dict:
    """Write both archives; returns {name: (rgb image, index label)}."""
    rng = np.random.default_rng(seed)
    truth = {}
    with zipfile.ZipFile(osp.join(root, 'UCMerced_LandUse.zip'), 'w') as zi, \
            zipfile.ZipFile(osp.join(root, 'DLRSD.zip'), 'w') as zl:
        for cat in CATEGORIES:
            for n in NUMBERS:
                name = f'{cat}{n:02d}'
                img = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
                idx = rng.integers(0, 17, (size[0] // 4, size[1] // 4)).repeat(4, 0).repeat(4, 1)
                zi.writestr(f'UCMerced_LandUse/Images/{cat}/{name}.tif', encode(img, 'TIFF'))
                zl.writestr(f'DLRSD/Images/{cat}/{name}.png', encode(idx, 'PNG', palette=True))
                truth[name] = (img, idx)
    return truth

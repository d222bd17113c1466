"""A fake DLRSD (labels) + UC Merced Land Use (images), scaled down, built from the official descriptions -- not
from the converter.

Facts and their sources:
* ``UCMerced_LandUse.zip`` -> ``UCMerced_LandUse/Images/<category>/<category>NN.tif``, 21 categories x 100
  images (NN = 00..99), 256x256 RGB TIFF (http://weegee.vision.ucmerced.edu/datasets/landuse.html; public DLRSD
  loaders use ``img_root='.../UCMerced_LandUse/Images'``).
* ``DLRSD.zip`` -> ``DLRSD/Images/<category>/<category>NN.png``: the dense labels, in a folder named "Images"
  (https://sites.google.com/view/zhouwx/dataset; public loaders use ``label_root='.../DLRSD/Images'`` next to the
  UC Merced images). Labels are palette PNGs whose indices are 1..17 (torchgeo's ``DLRSD``: "Palette indices are
  1-17, convert to 0-indexed"), colours (torchgeo's ``colormap``, Shao et al., Remote Sens. 2018, 10(6), 964):
  airplane (166,202,240), bare soil (128,128,0), buildings (0,0,128), cars (255,0,0), chaparral (0,128,0), court
  (128,0,0), dock (255,233,233), field (160,160,164), grass (0,128,128), mobile home (90,87,255), pavement
  (255,255,0), sand (255,192,0), sea (0,0,255), ship (255,0,192), tanks (128,0,128), trees (0,255,0), water
  (0,255,255).
* An image and its label share the stem ``<category>NN`` (.tif vs .png) -- the tests compare pixels.
Scaled down: 2 categories x 10 numbers, 24x24 px, one image 24x20 (odd size).
"""
import io
import os
import os.path as osp
import zipfile

import numpy as np
from PIL import Image

PALETTE = [(166, 202, 240), (128, 128, 0), (0, 0, 128), (255, 0, 0), (0, 128, 0), (128, 0, 0), (255, 233, 233),
           (160, 160, 164), (0, 128, 128), (90, 87, 255), (255, 255, 0), (255, 192, 0), (0, 0, 255),
           (255, 0, 192), (128, 0, 128), (0, 255, 0), (0, 255, 255)]
CATEGORIES = ('airplane', 'harbor')
NUMBERS = range(10)  # 00..09 per category -> every 5th (04, 09) is val
ODD = 'harbor07'     # 24 wide, 20 high


def encode(arr: np.ndarray, fmt: str, palette: bool = False) -> bytes:
    """PNG/TIFF bytes; ``palette``: ``arr`` holds class indices 0..16, written as palette indices 1..17."""
    buf = io.BytesIO()
    if palette:
        im = Image.fromarray((arr + 1).astype(np.uint8), 'P')
        flat = [0, 0, 0] + [v for c in PALETTE for v in c]
        im.putpalette(flat + [0] * (768 - len(flat)))
    else:
        im = Image.fromarray(arr)
    im.save(buf, fmt)
    return buf.getvalue()


def _emit(root: str, top: str, files: dict, form: str) -> str:
    if form == 'zip':
        path = osp.join(root, f'{top}.zip')
        with zipfile.ZipFile(path, 'w') as zf:
            for name, data in files.items():
                zf.writestr(name, data)
        return path
    for name, data in files.items():
        full = osp.join(root, name)
        os.makedirs(osp.dirname(full), exist_ok=True)
        with open(full, 'wb') as f:
            f.write(data)
    return osp.join(root, top)


def make_archives(root: str, size=(24, 24), seed: int = 0, image_form: str = 'zip', label_form: str = 'zip',
                  drop_labels=(), drop_images=()) -> dict:
    """Write both parts (each 'zip' as downloaded or 'tree' as extracted); returns {name: (rgb, index label)}
    of the complete pairs, plus 'paths'."""
    rng = np.random.default_rng(seed)
    truth, images, labels = {}, {}, {}
    for cat in CATEGORIES:
        for n in NUMBERS:
            name = f'{cat}{n:02d}'
            shape = (20, 24) if name == ODD else size
            img = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
            idx = rng.integers(0, 17, (shape[0] // 4, shape[1] // 4)).repeat(4, 0).repeat(4, 1)
            if name not in drop_images:
                images[f'UCMerced_LandUse/Images/{cat}/{name}.tif'] = encode(img, 'TIFF')
            if name not in drop_labels:
                labels[f'DLRSD/Images/{cat}/{name}.png'] = encode(idx, 'PNG', palette=True)
            if name not in drop_images and name not in drop_labels:
                truth[name] = (img, idx)
    paths = (_emit(root, 'UCMerced_LandUse', images, image_form), _emit(root, 'DLRSD', labels, label_form))
    truth['paths'] = paths
    return truth

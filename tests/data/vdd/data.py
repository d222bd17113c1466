"""A fake VDD release: VDD.zip with VDD/<split>/src/*.JPG and grey index labels VDD/<split>/gt/*.png."""
import io
import os.path as osp
import zipfile

import numpy as np
from PIL import Image

LAYOUT = {'train': 2, 'val': 1, 'test': 1}


def encode(arr: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt, **({'quality': 95} if fmt == 'JPEG' else {}))
    return buf.getvalue()


def make_release(root: str, size=(30, 40), seed=0) -> dict:
    """Write VDD.zip; returns {(split, name): (jpeg-decoded rgb image, index label)}."""
    rng = np.random.default_rng(seed)
    truth = {}
    with zipfile.ZipFile(osp.join(root, 'VDD.zip'), 'w') as zf:
        for split, n in LAYOUT.items():
            for i in range(n):
                name = f'{split[:2]}_{i:05d}'
                img = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
                data = encode(img, 'JPEG')
                idx = rng.integers(0, 7, (size[0] // 5, size[1] // 5)).repeat(5, 0).repeat(5, 1).astype(np.uint8)
                idx[0, 0] = 255  # an ignored pixel survives
                zf.writestr(f'VDD/{split}/src/{name}.JPG', data)
                zf.writestr(f'VDD/{split}/gt/{name}.png', encode(idx, 'PNG'))
                truth[(split, name)] = (np.asarray(Image.open(io.BytesIO(data)).convert('RGB')), idx)
    return truth

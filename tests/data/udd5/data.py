"""A fake UDD5 release: UDD5.zip with <split>/src/*.JPG and colour-coded <split>/gt/*.png, official names."""
import io
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


def make_release(root: str, size=(30, 40), seed=0) -> dict:
    """Write UDD5.zip; returns {(split, name): (jpeg-decoded rgb image, index label)}."""
    rng = np.random.default_rng(seed)
    truth = {}
    with zipfile.ZipFile(osp.join(root, 'UDD5.zip'), 'w') as zf:
        for split, n in LAYOUT.items():
            for i in range(n):
                name = f'DJI_{i + 10 * len(split):04d}'
                img = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
                data = encode(img, 'JPEG')
                idx = rng.integers(0, 5, (size[0] // 5, size[1] // 5)).repeat(5, 0).repeat(5, 1)
                zf.writestr(f'UDD5/{split}/src/{name}.JPG', data)
                zf.writestr(f'UDD5/{split}/gt/{name}.png', encode(np.array(COLOURS, np.uint8)[idx], 'PNG'))
                truth[(split, name)] = (np.asarray(Image.open(io.BytesIO(data)).convert('RGB')), idx)
    return truth

"""A fake VDD release (Varied Drone Dataset), scaled down, built from the official description -- not from the
converter.

Facts and their sources (https://github.com/RussRobin/VDD, README; the Hugging Face copy RussRobin/VDD):
* ``VDD.zip`` -> ``VDD/{train,val,test}/src/<name>.JPG`` (images) and ``VDD/{train,val,test}/gt/<name>.png``
  (labels with the SAME stem); 400 images (README "We provide 400 pixel-level annotated images"), 280 / 80 / 40
  (the VDD paper, arXiv 2305.13608).
* Labels are class ids (README "Class id" table): 0 other, 1 wall, 2 road, 3 vegetation, 4 vehicle, 5 roof,
  6 water. Here 30x40 px JPEG images, an ignored pixel (255) in each label.
"""
import importlib.util
import os.path as osp

import numpy as np

# the same writers as tests/data/udd5/data.py (loaded by path: every generator is a module named data.py)
_spec = importlib.util.spec_from_file_location(
    'fake_data_udd5_writers', osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'udd5', 'data.py'))
_udd5 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_udd5)
decode, emit, encode = _udd5.decode, _udd5.emit, _udd5.encode

LAYOUT = {'train': 2, 'val': 1, 'test': 1}


def make_release(root: str, size=(30, 40), seed: int = 0, form: str = 'zip', drop_labels=(),
                 drop_images=()) -> dict:
    """Write VDD (``form`` 'zip' or 'tree'); returns {(split, name): (decoded rgb image, index label)} of the
    complete pairs and 'path'."""
    rng = np.random.default_rng(seed)
    truth, files = {}, {}
    for split, n in LAYOUT.items():
        for i in range(n):
            name = f'{split[:2]}_{i:05d}'
            data = encode(rng.integers(0, 256, (*size, 3), dtype=np.uint8), 'JPEG')
            idx = rng.integers(0, 7, (size[0] // 5, size[1] // 5)).repeat(5, 0).repeat(5, 1).astype(np.uint8)
            idx[0, 0] = 255  # an ignored pixel survives
            if name not in drop_images:
                files[f'{split}/src/{name}.JPG'] = data
            if name not in drop_labels:
                files[f'{split}/gt/{name}.png'] = encode(idx, 'PNG')
            if name not in drop_images and name not in drop_labels:
                truth[(split, name)] = (decode(data), idx)
    truth['path'] = emit(root, 'VDD', files, form)
    return truth

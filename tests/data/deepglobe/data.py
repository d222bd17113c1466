"""A fake DeepGlobe Land Cover Kaggle archive with the official names, nesting and formats (scaled down: 48 px).

    archive.zip: class_dict.csv, metadata.csv,
                 train/<id>_sat.jpg + train/<id>_mask.png (RGB colour masks),
                 valid/<id>_sat.jpg, test/<id>_sat.jpg (unlabelled, as in the real set)
Masks use the class colours, blurred slightly the way lossy tooling does (channel values 0..30 / 225..255), which the
converter's binarisation at 128 must absorb.
"""
import os.path as osp
import zipfile

import cv2
import numpy as np

PALETTE = [(0, 0, 0), (0, 255, 255), (255, 255, 0), (255, 0, 255), (0, 255, 0), (0, 0, 255), (255, 255, 255)]
NUM_TRAIN, SIZE = 8, 48


def encode(arr: np.ndarray, ext: str) -> bytes:
    return cv2.imencode(ext, arr)[1].tobytes()


def make_mask(rng, size=SIZE) -> np.ndarray:
    """(index (H, W), RGB colour mask (H, W, 3)) with blocks of random classes and slightly off colours."""
    index = rng.integers(0, 7, (size // 8, size // 8)).repeat(8, 0).repeat(8, 1)
    rgb = np.array(PALETTE, np.int16)[index]
    noise = rng.integers(0, 31, rgb.shape)
    rgb = np.where(rgb > 0, rgb - noise, rgb + noise).astype(np.uint8)
    return index.astype(np.uint8), rgb


def make_archive(root: str, seed: int = 0, name: str = 'archive.zip') -> dict:
    """Write the archive under ``root``; returns {'path', 'ids', 'index': {id: (H, W) class indices}}."""
    rng = np.random.default_rng(seed)
    ids, index = [], {}
    path = osp.join(root, name)
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr('class_dict.csv', 'name,r,g,b\nurban_land,0,255,255\nagriculture_land,255,255,0\n'
                    'rangeland,255,0,255\nforest_land,0,255,0\nwater,0,0,255\nbarren_land,255,255,255\n'
                    'unknown,0,0,0\n')
        zf.writestr('metadata.csv', 'image_id,split,sat_image_path,mask_path\n')
        for k in range(NUM_TRAIN):
            i = str(100000 + 7919 * k)
            ids.append(i)
            img = rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
            idx, rgb = make_mask(rng)
            index[i] = idx
            zf.writestr(f'train/{i}_sat.jpg', encode(img, '.jpg'))
            zf.writestr(f'train/{i}_mask.png', encode(rgb[..., ::-1], '.png'))
        for folder in ('valid', 'test'):
            for k in range(2):
                zf.writestr(f'{folder}/{900000 + k}_sat.jpg', encode(np.zeros((SIZE, SIZE, 3), np.uint8), '.jpg'))
    return dict(path=path, ids=ids, index=index)


def rewrite_member(zip_path: str, member: str, data: bytes) -> None:
    """Replace one member's bytes (to make damaged archives)."""
    with zipfile.ZipFile(zip_path) as zf:
        items = [(i, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(zip_path, 'w') as zf:
        for info, payload in items:
            zf.writestr(info, data if info.filename == member else payload)


def write_glnet_lists(folder: str, ids: list, sizes=(4, 2, 2)) -> dict:
    """GLNet-style lists (file names, crossvali.txt = val)."""
    a, b, _ = sizes
    lists = {'train': ids[:a], 'val': ids[a:a + b], 'test': ids[a + b:]}
    for split, fname in (('train', 'train.txt'), ('val', 'crossvali.txt'), ('test', 'test.txt')):
        with open(osp.join(folder, fname), 'w') as f:
            f.write(''.join(f'{i}_sat.jpg\n' for i in lists[split]))
    return lists

"""A fake extracted Inria Aerial Image Labeling dataset with the official names, nesting and formats (scaled down:
40 px GeoTIFFs).

    AerialImageDataset/train/images/<city><n>.tif   3-band uint8 GeoTIFF (EPSG:26914-like georeference)
    AerialImageDataset/train/gt/<city><n>.tif       1-band uint8, 0 / 255
    AerialImageDataset/test/images/<city><n>.tif    unlabelled (other cities, as in the real set)
"""
import os
import os.path as osp
import zipfile

import numpy as np

CITIES = ('austin', 'chicago', 'kitsap', 'tyrol-w', 'vienna')
PER_CITY, SIZE = 2, 40


def write_tif(path: str, arr: np.ndarray) -> None:
    """(H, W) or (C, H, W) uint8 -> GeoTIFF."""
    import rasterio
    from rasterio.transform import from_origin
    arr = arr[None] if arr.ndim == 2 else arr
    with rasterio.open(path, 'w', driver='GTiff', height=arr.shape[1], width=arr.shape[2], count=arr.shape[0],
                       dtype='uint8', crs='EPSG:26914', transform=from_origin(600000, 3350000, 0.3, 0.3)) as ds:
        ds.write(arr)


def make_dataset(root: str, seed: int = 0) -> dict:
    """Write AerialImageDataset under ``root``; returns {'path', 'ids', 'gt': {id: (H, W) 0/1}}."""
    rng = np.random.default_rng(seed)
    base = osp.join(root, 'AerialImageDataset')
    for sub in ('train/images', 'train/gt', 'test/images'):
        os.makedirs(osp.join(base, sub), exist_ok=True)
    ids, gts = [], {}
    for city in CITIES:
        for n in range(1, PER_CITY + 1):
            tile = f'{city}{n}'
            ids.append(tile)
            gt = (rng.random((SIZE // 4, SIZE // 4)) > 0.7).repeat(4, 0).repeat(4, 1).astype(np.uint8)
            gts[tile] = gt
            write_tif(osp.join(base, 'train', 'images', f'{tile}.tif'),
                      rng.integers(0, 256, (3, SIZE, SIZE), dtype=np.uint8))
            write_tif(osp.join(base, 'train', 'gt', f'{tile}.tif'), gt * 255)
    write_tif(osp.join(base, 'test', 'images', 'bellingham1.tif'), np.zeros((3, SIZE, SIZE), np.uint8))
    return dict(path=base, ids=ids, gt=gts)


def zip_dataset(base: str, zip_path: str) -> str:
    """The same tree as one zip (the NEW2-AerialImageDataset.zip distribution)."""
    parent = osp.dirname(base)
    with zipfile.ZipFile(zip_path, 'w') as zf:
        for dirpath, _, files in os.walk(base):
            for f in files:
                full = osp.join(dirpath, f)
                zf.write(full, osp.relpath(full, parent))
    return zip_path

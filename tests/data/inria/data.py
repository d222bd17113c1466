"""A fake Inria Aerial Image Labeling dataset, scaled down, built from the official description -- not from the
converter.

Facts and their sources:
* ``NEW2-AerialImageDataset.zip`` holding ``AerialImageDataset/`` (torchgeo's ``InriaAerialImageLabeling``:
  ``filename = "NEW2-AerialImageDataset.zip"``, ``directory = "AerialImageDataset"``); the benchmark page
  https://project.inria.fr/aerialimagelabeling/ serves it as the 7z parts ``aerialimagelabeling.7z.001``..``005``
  which extract to the same tree.
* ``train/images/<city><n>.tif`` and ``train/gt/<city><n>.tif`` -- the SAME file name in two folders --, and
  ``test/images/<city><n>.tif`` without ground truth (torchgeo globs ``images/*.tif`` and, for train only,
  ``gt/*.tif``).
* 180 training tiles, 36 for each of austin, chicago, kitsap, tyrol-w, vienna; 180 test tiles of bellingham,
  bloomington, innsbruck, sfo, tyrol-e (benchmark page; torchgeo docstring "Train cities ... Test cities";
  torchrs "36 tiles for each of the following regions"). Here 2 tiles per city: always a partial download.
* 5000x5000 RGB GeoTIFFs at 0.3 m; ground truth one band, 255 = building, 0 = not building (benchmark page;
  torchgeo clips it to 0/1). Here 40x44 px, an odd size.
"""
import os
import os.path as osp
import shutil
import zipfile

import numpy as np

CITIES = ('austin', 'chicago', 'kitsap', 'tyrol-w', 'vienna')
TEST_CITIES = ('bellingham', 'bloomington', 'innsbruck', 'sfo', 'tyrol-e')
PER_CITY, SIZE = 2, (40, 44)


def write_tif(path: str, arr: np.ndarray) -> None:
    """(H, W) or (C, H, W) uint8 -> GeoTIFF."""
    import rasterio
    from rasterio.transform import from_origin
    arr = arr[None] if arr.ndim == 2 else arr
    with rasterio.open(path, 'w', driver='GTiff', height=arr.shape[1], width=arr.shape[2], count=arr.shape[0],
                       dtype='uint8', crs='EPSG:26914', transform=from_origin(600000, 3350000, 0.3, 0.3)) as ds:
        ds.write(arr)


def make_dataset(root: str, seed: int = 0, drop_gt=(), drop_images=(), cities=CITIES) -> dict:
    """Write the extracted ``AerialImageDataset`` under ``root``. ``drop_gt`` / ``drop_images``: tiles whose
    ground truth / image is left out (a partial extraction). Returns {'path', 'ids' (complete pairs), 'gt' {id:
    (H, W) 0/1}, 'rgb' {id: (H, W, 3)}, 'test' {id: (H, W, 3)}}."""
    rng = np.random.default_rng(seed)
    base = osp.join(root, 'AerialImageDataset')
    for sub in ('train/images', 'train/gt', 'test/images'):
        os.makedirs(osp.join(base, sub), exist_ok=True)
    out = dict(path=base, ids=[], gt={}, rgb={}, test={})
    for city in cities:
        for n in range(1, PER_CITY + 1):
            tile = f'{city}{n}'
            gt = (rng.random((SIZE[0] // 4, SIZE[1] // 4)) > 0.7).repeat(4, 0).repeat(4, 1).astype(np.uint8)
            rgb = rng.integers(0, 256, (3, *SIZE), dtype=np.uint8)
            if tile not in drop_images:
                write_tif(osp.join(base, 'train', 'images', f'{tile}.tif'), rgb)
            if tile not in drop_gt:
                write_tif(osp.join(base, 'train', 'gt', f'{tile}.tif'), gt * 255)
            if tile not in drop_images and tile not in drop_gt:
                out['ids'].append(tile)
            out['gt'][tile], out['rgb'][tile] = gt, rgb.transpose(1, 2, 0)
    for city in TEST_CITIES[:2]:  # unlabelled test tiles (other cities)
        rgb = rng.integers(0, 256, (3, *SIZE), dtype=np.uint8)
        write_tif(osp.join(base, 'test', 'images', f'{city}1.tif'), rgb)
        out['test'][f'{city}1'] = rgb.transpose(1, 2, 0)
    return out


def zip_dataset(base: str, zip_path: str, remove_tree: bool = False) -> str:
    """The same tree as one zip (the NEW2-AerialImageDataset.zip distribution)."""
    parent = osp.dirname(base)
    with zipfile.ZipFile(zip_path, 'w') as zf:
        for dirpath, _, files in os.walk(base):
            for f in sorted(files):
                full = osp.join(dirpath, f)
                zf.write(full, osp.relpath(full, parent))
    if remove_tree:
        shutil.rmtree(base)
    return zip_path

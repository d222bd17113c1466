"""Fake ISPRS Potsdam / Vaihingen downloads, built from the official descriptions (scaled down to tiny tiles).

Sources of each fact (read, not copied):
  [mmseg-doc]  mmsegmentation docs/en/user_guides/2_dataset_prepare.md: Potsdam requires '2_Ortho_RGB.zip' and
               '5_Labels_all_noBoundary.zip'; Vaihingen 'ISPRS_semantic_labeling_Vaihingen.zip' and
               'ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE.zip'.
  [mmseg-pd]   mmsegmentation tools/dataset_converters/potsdam.py: the .tif members sit at the archive's top level
               or in one sub-folder (it globs both); 24 train / 14 val tile ids; labels are RGB colour codes.
  [mmseg-vh]   mmsegmentation tools/dataset_converters/vaihingen.py: images are ``top/*.tif`` of the image archive;
               the eroded archive holds ``*_noBoundary.tif`` at its top level, including an area 9 that has no image
               ("delete unused area9 ground truth"); 16 train / 17 val areas.
  [tg-pd]      torchgeo datasets/potsdam.py: images ``4_Ortho_RGBIR/top_potsdam_<a>_<b>_RGBIR.tif`` (4 bands);
               5_Labels_all.zip extracts ``top_potsdam_<a>_<b>_label.tif`` at the top level; colour map.
  [tg-vh]      torchgeo datasets/vaihingen.py: images ``top/top_mosaic_09cm_area<N>.tif``, 3-band; the
               ground_truth_COMPLETE archive extracts ``top_mosaic_09cm_area<N>.tif`` (the images' basenames) at the
               top level.
  [rv]         azavea raster-vision's ISPRS loaders: ``ISPRS_semantic_labeling_Vaihingen/{top,dsm,
               gts_for_participants}``, the participants' GT under the images' basenames; Potsdam
               ``1_DSM_normalisation/dsm_potsdam_<aa>_<bb>_normalized_lastools.jpg`` (3_13's is 5999 px wide, not
               6000) and ``5_Labels_for_participants/top_potsdam_<a>_<b>_label.tif`` (24 training tiles; 38 images).
  [isprs]      ISPRS benchmark pages: Potsdam 38 tiles of 6000x6000 px, 5 cm, products 1_DSM, 1_DSM_normalisation,
               2_Ortho_RGB, 3_Ortho_IRRG, 4_Ortho_RGBIR, 5_Labels_*; Vaihingen 33 areas of different sizes, 9 cm,
               IRRG true orthophotos + DSM; eroded labels have the class boundaries (3 px) blacked out.
  [off]        public notes of a project decoding all 71 complete ISPRS label tiles: ``top_potsdam_4_12_label.tif``
               is a lossy re-encode (24 850 distinct colours, e.g. (9, 222, 221) for cyan, (225, 227, 227) for
               white), ``top_potsdam_6_7_label.tif`` codes most cars (252, 255, 0); no channel value lies within
               40 of mid-grey in any tile.
  [dl]         public setup scripts: the ISPRS download is one ``Potsdam.zip`` holding the product archives
               (``unzip Potsdam.zip && cd Potsdam && unzip 5_Labels_for_participants.zip && unzip 2_Ortho_RGB.zip``).
Sizes are scaled down (6000 -> ~48 px); the odd sizes exercise the border windows.
"""
import os
import os.path as osp
import tempfile
import zipfile
from typing import Dict, Iterable, Optional, Tuple

import numpy as np
import rasterio

# [tg-pd] colour map, in the order of the converter's classes 1..6
PALETTE_RGB = [(255, 255, 255), (0, 0, 255), (0, 255, 255), (0, 255, 0), (255, 255, 0), (255, 0, 0)]
POTSDAM_TRAIN = ['2_10', '2_11', '2_12', '3_10', '3_11', '3_12', '4_10', '4_11', '4_12', '5_10', '5_11', '5_12',
                 '6_7', '6_8', '6_9', '6_10', '6_11', '6_12', '7_7', '7_8', '7_9', '7_10', '7_11', '7_12']  # [mmseg-pd]
POTSDAM_VAL = ['2_13', '2_14', '3_13', '3_14', '4_13', '4_14', '4_15', '5_13', '5_14', '5_15', '6_13', '6_14',
               '6_15', '7_13']
VAIHINGEN_TRAIN = [1, 3, 5, 7, 11, 13, 15, 17, 21, 23, 26, 28, 30, 32, 34, 37]  # [mmseg-vh]
VAIHINGEN_VAL = [2, 4, 6, 8, 10, 12, 14, 16, 20, 22, 24, 27, 29, 31, 33, 35, 38]
POTSDAM_ODD = {'4_12': (48, 56), '6_15': (40, 60)}  # a few odd tiles among the regular ones


def _tif_bytes(arr: np.ndarray, dtype: str = 'uint8') -> bytes:
    arr = arr[..., None] if arr.ndim == 2 else arr
    with tempfile.NamedTemporaryFile(suffix='.tif') as f:
        with rasterio.open(f.name, 'w', driver='GTiff', height=arr.shape[0], width=arr.shape[1],
                           count=arr.shape[2], dtype=dtype) as dst:
            dst.write(arr.transpose(2, 0, 1).astype(dtype))
        return open(f.name, 'rb').read()


def _labels(rng, h: int, w: int):
    """Class blocks (0..5), the full colour GT and the eroded one (boundaries black, [isprs])."""
    idx = rng.integers(0, 6, (h // 8 + 1, w // 8 + 1)).repeat(8, 0).repeat(8, 1)[:h, :w]
    full = np.array(PALETTE_RGB, np.uint8)[idx]
    edge = np.zeros((h, w), bool)
    edge[1:, :] |= idx[1:, :] != idx[:-1, :]
    edge[:, 1:] |= idx[:, 1:] != idx[:, :-1]
    eroded = full.copy()
    eroded[edge] = 0
    return idx, full, eroded


def _area(rng, h: int, w: int) -> dict:
    """Every product of one tile/area. The image products share the scene but differ in bands (IRRG = NIR, R, G),
    so a tile taken from the wrong product differs from the right one."""
    red, green, blue, nir = (rng.integers(0, 256, (h, w), dtype=np.uint8) for _ in range(4))
    idx, full, eroded = _labels(rng, h, w)
    return dict(rgb=np.dstack([red, green, blue]), irrg=np.dstack([nir, red, green]),
                rgbir=np.dstack([red, green, blue, nir]), dsm=rng.normal(40, 5, (h, w)).astype(np.float32),
                idx=idx, full=full, eroded=eroded)


def _as_distributed(area: str, full: np.ndarray, seed: int) -> np.ndarray:
    """The full GT as the official file holds it [off]: 4_12 lossy (channels off by up to 35), 6_7 cars
    (252, 255, 0); every other tile exact."""
    if area == '4_12':
        noise = np.random.default_rng(seed).integers(0, 36, full.shape).astype(np.int16)
        return np.where(full == 255, 255 - noise, noise).astype(np.uint8)
    if area == '6_7':
        out = full.copy()
        out[(full == (255, 255, 0)).all(-1)] = (252, 255, 0)
        return out
    return full


def _zip(path: str, items: Iterable[Tuple[str, bytes]]) -> None:
    with zipfile.ZipFile(path, 'w') as zf:
        for name, data in items:
            zf.writestr(name, data)


def make_potsdam(root: str, areas: Optional[Iterable[str]] = None, size=(40, 56), seed: int = 0,
                 products: Optional[Iterable[str]] = None, odd: Optional[Dict[str, Tuple[int, int]]] = None) -> dict:
    """Write the Potsdam product archives [isprs] for ``areas`` (default all 38) under ``root``; returns
    ``{area: products}`` (see :func:`_area`). ``products``: which archives to write (default all)."""
    areas = list(areas) if areas is not None else POTSDAM_TRAIN + POTSDAM_VAL
    odd = POTSDAM_ODD if odd is None else odd
    rng = np.random.default_rng(seed)
    truth = {a: _area(rng, *odd.get(a, size)) for a in areas}
    pad = {a: '_'.join(f'{int(p):02d}' for p in a.split('_')) for a in areas}  # [rv] dsm_potsdam_02_10
    archives = {
        # [isprs]/[tg-pd]: image products in a folder named like the archive; labels at the top level [tg-pd]
        '1_DSM.zip': [(f'1_DSM/dsm_potsdam_{pad[a]}.tif', _tif_bytes(t['dsm'], 'float32')) for a, t in truth.items()],
        '1_DSM_normalisation.zip': [(f'1_DSM_normalisation/dsm_potsdam_{pad[a]}_normalized_lastools.jpg',
                                     _tif_bytes(t['idx'].astype(np.uint8))) for a, t in truth.items()],
        '2_Ortho_RGB.zip': [m for a, t in truth.items() for m in (
            (f'2_Ortho_RGB/top_potsdam_{a}_RGB.tif', _tif_bytes(t['rgb'])),
            (f'2_Ortho_RGB/top_potsdam_{a}_RGB.tfw', b'0.05\n0\n0\n-0.05\n0\n0\n'))],
        '3_Ortho_IRRG.zip': [(f'3_Ortho_IRRG/top_potsdam_{a}_IRRG.tif', _tif_bytes(t['irrg']))
                             for a, t in truth.items()],
        '4_Ortho_RGBIR.zip': [(f'4_Ortho_RGBIR/top_potsdam_{a}_RGBIR.tif', _tif_bytes(t['rgbir']))
                              for a, t in truth.items()],
        '5_Labels_all.zip': [(f'top_potsdam_{a}_label.tif', _tif_bytes(_as_distributed(a, t['full'], seed)))
                             for a, t in truth.items()],
        '5_Labels_all_noBoundary.zip': [(f'top_potsdam_{a}_label_noBoundary.tif', _tif_bytes(t['eroded']))
                                        for a, t in truth.items()],
        # [rv] the participants' labels: the 24 training tiles only, same basenames as 5_Labels_all
        '5_Labels_for_participants.zip': [(f'top_potsdam_{a}_label.tif',
                                           _tif_bytes(_as_distributed(a, t['full'], seed)))
                                          for a, t in truth.items() if a in POTSDAM_TRAIN],
    }
    for name, items in archives.items():
        if products is None or name in products:
            _zip(osp.join(root, name), items)
    return truth


def vaihingen_size(area: int) -> Tuple[int, int]:
    """Areas differ in size [isprs] (e.g. area 1 is 2569 x 1919 px): scaled-down, varying sizes."""
    return 40 + (area % 5) * 4, 36 + (area % 3) * 6


def make_vaihingen(root: str, areas: Optional[Iterable[int]] = None, seed: int = 1,
                   products: Optional[Iterable[str]] = None) -> dict:
    """Write the three Vaihingen archives [mmseg-doc] for ``areas`` (default all 33) under ``root``; returns
    ``{str(area): products}``. The image archive holds ``top/`` (IRRG), ``dsm/`` and ``gts_for_participants/``
    (full GT of the training areas under the images' basenames) [rv]; the eroded archive has the orphan
    area 9 [mmseg-vh]."""
    areas = [int(a) for a in areas] if areas is not None else VAIHINGEN_TRAIN + VAIHINGEN_VAL
    rng = np.random.default_rng(seed)
    truth = {str(a): _area(rng, *vaihingen_size(a)) for a in areas}
    orphan = _area(rng, 44, 40)
    image_zip = []
    for a, t in truth.items():
        image_zip.append((f'top/top_mosaic_09cm_area{a}.tif', _tif_bytes(t['irrg'])))  # IRRG [isprs]
        image_zip.append((f'dsm/dsm_09cm_matching_area{a}.tif', _tif_bytes(t['dsm'], 'float32')))
        if int(a) in VAIHINGEN_TRAIN:
            image_zip.append((f'gts_for_participants/top_mosaic_09cm_area{a}.tif', _tif_bytes(t['full'])))
    archives = {
        'ISPRS_semantic_labeling_Vaihingen.zip': image_zip,
        'ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE.zip': [
            (f'top_mosaic_09cm_area{a}.tif', _tif_bytes(t['full'])) for a, t in truth.items()],  # [tg-vh]
        'ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE.zip': [
            (f'top_mosaic_09cm_area{a}_noBoundary.tif', _tif_bytes(t['eroded'])) for a, t in truth.items()] + [
            ('top_mosaic_09cm_area9_noBoundary.tif', _tif_bytes(orphan['eroded']))],  # [mmseg-vh]
    }
    for name, items in archives.items():
        if products is None or name in products:
            _zip(osp.join(root, name), items)
    return truth


def extract_all(root: str, dest: str, into_folders: bool = True) -> None:
    """Extract every archive of ``root`` under ``dest``: into a folder named like the archive (what most unzip
    tools do), or in place (``into_folders=False``: torchgeo's layout [tg-pd]/[tg-vh])."""
    for name in sorted(os.listdir(root)):
        if name.endswith('.zip'):
            with zipfile.ZipFile(osp.join(root, name)) as zf:
                zf.extractall(osp.join(dest, name[:-4]) if into_folders else dest)

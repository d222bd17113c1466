"""Fake ISPRS Potsdam / Vaihingen archives: official archive and member names, RGB colour-coded label TIFFs,
eroded labels with a black boundary; scaled down to tiny tiles (all areas present)."""
import os.path as osp
import tempfile
import zipfile

import numpy as np
import rasterio

PALETTE_RGB = [(255, 255, 255), (0, 0, 255), (0, 255, 255), (0, 255, 0), (255, 255, 0), (255, 0, 0)]


def _tif_bytes(arr: np.ndarray) -> bytes:
    with tempfile.NamedTemporaryFile(suffix='.tif') as f:
        with rasterio.open(f.name, 'w', driver='GTiff', height=arr.shape[0], width=arr.shape[1],
                           count=arr.shape[2], dtype='uint8') as dst:
            dst.write(arr.transpose(2, 0, 1))
        return open(f.name, 'rb').read()


def _pair(rng, h, w):
    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    idx = rng.integers(0, 6, (h // 8 + 1, w // 8 + 1)).repeat(8, 0).repeat(8, 1)[:h, :w]
    full = np.array(PALETTE_RGB, np.uint8)[idx]
    eroded = full.copy()
    edge = np.zeros((h, w), bool)
    edge[1:, :] |= idx[1:, :] != idx[:-1, :]
    edge[:, 1:] |= idx[:, 1:] != idx[:, :-1]
    eroded[edge] = 0
    return img, idx, full, eroded


def make_potsdam(root: str, areas, size=(40, 56), seed=0) -> dict:
    rng = np.random.default_rng(seed)
    truth = {}
    with zipfile.ZipFile(osp.join(root, '2_Ortho_RGB.zip'), 'w') as zi, \
            zipfile.ZipFile(osp.join(root, '5_Labels_all.zip'), 'w') as zf, \
            zipfile.ZipFile(osp.join(root, '5_Labels_all_noBoundary.zip'), 'w') as ze:
        for a in areas:
            img, idx, full, eroded = _pair(rng, *size)
            zi.writestr(f'2_Ortho_RGB/top_potsdam_{a}_RGB.tif', _tif_bytes(img))
            zi.writestr(f'2_Ortho_RGB/top_potsdam_{a}_RGB.tfw', b'0.05\n0\n0\n-0.05\n0\n0\n')
            zf.writestr(f'top_potsdam_{a}_label.tif', _tif_bytes(full))
            ze.writestr(f'top_potsdam_{a}_label_noBoundary.tif', _tif_bytes(eroded))
            truth[a] = (img, idx, full, eroded)
    return truth


def make_vaihingen(root: str, areas, size=(48, 40), seed=1) -> dict:
    rng = np.random.default_rng(seed)
    truth = {}
    with zipfile.ZipFile(osp.join(root, 'ISPRS_semantic_labeling_Vaihingen.zip'), 'w') as zi, \
            zipfile.ZipFile(osp.join(root, 'ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE.zip'),
                            'w') as zf, \
            zipfile.ZipFile(osp.join(root, 'ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE.zip'),
                            'w') as ze:
        for a in areas:
            img, idx, full, eroded = _pair(rng, *size)
            zi.writestr(f'top/top_mosaic_09cm_area{a}.tif', _tif_bytes(img))
            zf.writestr(f'top_mosaic_09cm_area{a}.tif', _tif_bytes(full))
            ze.writestr(f'top_mosaic_09cm_area{a}_noBoundary.tif', _tif_bytes(eroded))
            truth[a] = (img, idx, full, eroded)
    return truth

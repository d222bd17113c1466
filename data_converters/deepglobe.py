"""Convert the DeepGlobe Land Cover Classification archive (Kaggle distribution) to the layout of
``DeepGlobeLandCoverDataset``.

    python data_converters/deepglobe.py RAW -o data/deepglobe [--split-lists GLNET_DIR] [--nproc 4]

RAW is the Kaggle archive exactly as downloaded (``archive.zip``, from
https://www.kaggle.com/datasets/balraj98/deepglobe-land-cover-classification-dataset; the kaggle CLI names it
``deepglobe-land-cover-classification-dataset.zip``) or the folder holding it. Only its ``train/`` folder has
masks (803 images ``<id>_sat.jpg`` 2448x2448 + ``<id>_mask.png``); ``valid/`` and ``test/`` are unlabelled and
skipped. Output:

    OUT/images/<id>_sat.jpg    the images, copied byte for byte after a decode check
    OUT/masks/<id>_mask.png    class indices 0..6 (unknown, urban, agriculture, rangeland, forest, water, barren)
    OUT/splits/{train,val,test,all}.txt

Masks: every RGB channel is binarised at 128 (the challenge's advice: the PNG colours are not always exact) and
the colour mapped to its class. A binarised colour that is no class (red) is an error naming the file, the
original colour and its position; ``--unmatched-to-unknown`` maps such pixels to 0 (unknown) instead, as GLNet.
Splits: ``--split-lists DIR`` with GLNet's ``train.txt``, ``crossvali.txt`` (val) and ``test.txt`` (454 / 207 / 142,
https://github.com/VITA-Group/GLNet; the 142-id test list is ``crossvali.txt`` at commit 23aef24). Without it a
seeded random 454 / 207 / 142 split is written (not the published protocol; the summary says so).
Re-running skips finished files; an interrupted run leaves no partial file.
"""
import argparse
import os
import os.path as osp
import re
import sys
from typing import Dict

import cv2
import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _light import conversion  # noqa: E402  (helpers without the torch/mmseg start-up)
from _uhr_splits import choose_splits  # noqa: E402

ConversionError = conversion.ConversionError

URL = 'https://www.kaggle.com/datasets/balraj98/deepglobe-land-cover-classification-dataset'
ARCHIVE_NAMES = ('archive.zip', 'deepglobe-land-cover-classification-dataset.zip')
EXPECTED = {'train': 454, 'val': 207, 'test': 142}
CLASSES = ('unknown', 'urban', 'agriculture', 'rangeland', 'forest', 'water', 'barren')
PALETTE = {(0, 0, 0): 0, (0, 255, 255): 1, (255, 255, 0): 2, (255, 0, 255): 3, (0, 255, 0): 4, (0, 0, 255): 5,
           (255, 255, 255): 6}
_SAT = re.compile(r'^(?:.*/)?train/(\d+)_sat\.jpg$')


def find_archive(raw: str) -> str:
    if osp.isfile(raw):
        return raw
    if osp.isdir(raw):
        for name in ARCHIVE_NAMES:
            if osp.isfile(osp.join(raw, name)):
                return osp.join(raw, name)
        zips = sorted(f for f in os.listdir(raw) if f.lower().endswith('.zip'))
        if len(zips) == 1:
            return osp.join(raw, zips[0])
        raise ConversionError(f'{raw} holds no DeepGlobe archive ({" or ".join(ARCHIVE_NAMES)}; found '
                              f'{zips or "no zip"}). Download it from {URL} and pass the file or its folder.')
    raise ConversionError(f'{raw} not found. Download the DeepGlobe Land Cover archive from {URL} and pass it as '
                          'it is (do not extract it).')


def mask_to_index(rgb: np.ndarray, where: str, unmatched_to_unknown: bool = False) -> np.ndarray:
    """(H, W, 3) RGB colour mask -> (H, W) uint8 class indices (channels binarised at 128)."""
    binar = np.where(rgb >= 128, 255, 0).astype(np.uint8)
    code = (binar[..., 0] >> 7).astype(np.uint8) << 2 | (binar[..., 1] >> 7) << 1 | (binar[..., 2] >> 7)
    lut = np.full(8, 255, np.uint8)
    for (r, g, b), v in PALETTE.items():
        lut[(r >> 7) << 2 | (g >> 7) << 1 | (b >> 7)] = v
    out = lut[code]
    bad = out == 255
    if bad.any():
        if unmatched_to_unknown:
            out[bad] = 0
        else:
            ys, xs = bad.nonzero()
            colour = tuple(int(v) for v in rgb[ys[0], xs[0]])
            raise ConversionError(
                f'{where}: colour {colour} at (row {ys[0]}, col {xs[0]}) is not a DeepGlobe class colour (even '
                f'after binarising at 128; {int(bad.sum())} pixel(s) in all). Classes: '
                f'{dict(zip(CLASSES, PALETTE))}. The mask is not the official one or is damaged; '
                '--unmatched-to-unknown maps such pixels to "unknown" instead.')
    return out


def _convert_one(split: str, zip_path: str, img_member: str, mask_member: str, out_img: str, out_mask: str,
                 unmatched_to_unknown: bool):
    zf = conversion.worker_zip(zip_path)
    img_bytes = zf.read(img_member)
    img = conversion.decode_image(img_bytes, f'{zip_path}:{img_member}', cv2.IMREAD_COLOR)
    mask = conversion.decode_image(zf.read(mask_member), f'{zip_path}:{mask_member}', cv2.IMREAD_COLOR)
    if mask.shape[:2] != img.shape[:2]:
        raise ConversionError(f'{zip_path}: image {img_member} is {img.shape[1]}x{img.shape[0]} but its mask '
                              f'{mask_member} is {mask.shape[1]}x{mask.shape[0]}')
    index = mask_to_index(mask[..., ::-1], f'{zip_path}:{mask_member}', unmatched_to_unknown)
    conversion.atomic_write_png(out_mask, index)  # the mask first: an image counts once both exist
    conversion.atomic_write_bytes(out_img, img_bytes)
    return split, 1


def collect(archive: str) -> Dict[str, tuple]:
    """``{id: (image member, mask member)}`` of the labelled images."""
    zf = conversion.open_zip(archive, 'DeepGlobe Land Cover', URL)
    members = set(zf.namelist())
    zf.close()
    pairs = {}
    for m in sorted(members):
        mt = _SAT.match(m)
        if mt:
            mask = m[:-len('_sat.jpg')] + '_mask.png'
            if mask not in members:
                raise ConversionError(f'{archive}: mask {mask} for image {m} is missing; the archive is incomplete: '
                                      f'download it again from {URL}')
            pairs[mt.group(1)] = (m, mask)
    if not pairs:
        raise ConversionError(f'{archive} has no train/<id>_sat.jpg entries: it is not the DeepGlobe Land Cover '
                              f'archive (download it from {URL})')
    return pairs


def convert(raw: str, out_dir: str, nproc: int = 1, split_lists: str = None, seed: int = 0,
            unmatched_to_unknown: bool = False) -> Dict[str, int]:
    archive = find_archive(raw)
    conversion.start_run(out_dir)
    pairs = collect(archive)
    splits = choose_splits(list(pairs), split_lists, EXPECTED, seed, 'GLNet', "GLNet's lists")
    tasks = []
    for split, ids in splits.items():
        for i in ids:
            img_m, mask_m = pairs[i]
            out_img = osp.join(out_dir, 'images', f'{i}_sat.jpg')
            out_mask = osp.join(out_dir, 'masks', f'{i}_mask.png')
            tasks.append((_convert_one, (split, archive, img_m, mask_m, out_img, out_mask, unmatched_to_unknown),
                          [out_img, out_mask]))
    counts = conversion.run_tasks(tasks, nproc=nproc, desc='DeepGlobe')
    for split, ids in splits.items():
        conversion.write_split_list(osp.join(out_dir, 'splits', f'{split}.txt'), ids)
    conversion.write_split_list(osp.join(out_dir, 'splits', 'all.txt'), [i for ids in splits.values() for i in ids])
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('raw', help='the Kaggle archive (archive.zip) or the folder holding it')
    parser.add_argument('-o', '--out-dir', default='data/deepglobe')
    parser.add_argument('--split-lists', help="folder with GLNet's train.txt, crossvali.txt, test.txt")
    parser.add_argument('--seed', type=int, default=0, help='seed of the fallback random split')
    parser.add_argument('--unmatched-to-unknown', action='store_true',
                        help='map mask colours that are no class to 0 (unknown) instead of stopping')
    parser.add_argument('--nproc', type=int, default=1, help='worker processes')
    args = parser.parse_args()
    try:
        counts = convert(args.raw, args.out_dir, args.nproc, args.split_lists, args.seed, args.unmatched_to_unknown)
    except ConversionError as e:
        sys.exit(f'deepglobe: {e}')
    conversion.print_summary(counts, EXPECTED, args.out_dir)


if __name__ == '__main__':
    main()

"""Convert the DeepGlobe Land Cover Classification archive (Kaggle distribution) to the layout of
``DeepGlobeLandCoverDataset``.

    python data_converters/deepglobe.py RAW -o data/deepglobe [--split-lists GLNET_DIR] [--nproc 4]

RAW is the Kaggle archive (``archive.zip``, from
https://www.kaggle.com/datasets/balraj98/deepglobe-land-cover-classification-dataset; the kaggle CLI names it
``deepglobe-land-cover-classification-dataset.zip``), the folder holding it, or the folder it extracts to. Only its
``train/`` folder has masks (803 images ``<id>_sat.jpg`` 2448x2448 + ``<id>_mask.png``); ``valid/`` and ``test/``
are unlabelled and skipped (counted in the summary). A partial download converts the complete pairs there and
lists what is missing on stderr (the official ids come from the archive's ``metadata.csv`` when it is there); only
nothing usable is an error. Output:

    OUT/img_dir/<split>/<id>.jpg   the images, copied byte for byte after a decode check
    OUT/ann_dir/<split>/<id>.png   class indices 0..6 (unknown, urban, agriculture, rangeland, forest, water, barren)
    OUT/splits/<split>.txt         ids, one per line (``ann_file`` with ``img_dir/<split>`` / ``ann_dir/<split>``)
    OUT/splits/all.txt             ``<split>/<id>`` (with ``img_dir`` / ``ann_dir``)

Masks: every RGB channel is binarised at 128 (the challenge's advice: the PNG colours are not always exact) and
the colour mapped to its class. A binarised colour that is no class (red) is an error naming the file, the
original colour and its position; ``--unmatched-to-unknown`` maps such pixels to 0 (unknown) instead, as GLNet.
Splits: ``--split-lists DIR`` with GLNet's ``train.txt``, ``crossvali.txt`` (val) and ``test.txt`` (454 / 207 / 142,
https://github.com/VITA-Group/GLNet; the 142-id test list is ``crossvali.txt`` at commit 23aef24). Without it a
seeded random 454 / 207 / 142 split is written (not the published protocol; the summary says so).
Re-running skips finished files; an interrupted run leaves no partial file.
"""
import argparse
import csv
import io
import os.path as osp
import re
import sys
from typing import Dict

import cv2
import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import _common  # noqa: E402  (helpers without the torch/mmseg start-up)
from _sources import assign, list_members, read_bytes, require_some, warn_missing  # noqa: E402
from _uhr_splits import choose_splits, write_split_lists  # noqa: E402

ConversionError = _common.ConversionError

URL = 'https://www.kaggle.com/datasets/balraj98/deepglobe-land-cover-classification-dataset'
EXPECTED = {'train': 454, 'val': 207, 'test': 142}
CLASSES = ('unknown', 'urban', 'agriculture', 'rangeland', 'forest', 'water', 'barren')
PALETTE = {(0, 0, 0): 0, (0, 255, 255): 1, (255, 255, 0): 2, (255, 0, 255): 3, (0, 255, 0): 4, (0, 0, 255): 5,
           (255, 255, 255): 6}
OFFICIAL_LABELLED = 803  # train/ of the Kaggle copy (the challenge's training set)
# roles by folder and product suffix, never by id alone (the mask shares the image's id)
_SAT = re.compile(r'(?:^|/)train/(\d+)_sat\.jpg$')
_MASK = re.compile(r'(?:^|/)train/(\d+)_mask\.png$')
_UNLABELLED = re.compile(r'(?:^|/)((?:valid|test)/\d+)_sat\.jpg$')
_META = re.compile(r'(?:^|/)metadata\.csv$')


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


def _convert_one(split: str, img_src: tuple, mask_src: tuple, where: tuple, out_img: str, out_mask: str,
                 unmatched_to_unknown: bool):
    img_bytes = read_bytes(img_src)
    img = _common.decode_image(img_bytes, where[0], cv2.IMREAD_COLOR)
    mask = _common.decode_image(read_bytes(mask_src), where[1], cv2.IMREAD_COLOR)
    if mask.shape[:2] != img.shape[:2]:
        raise ConversionError(f'image {where[0]} is {img.shape[1]}x{img.shape[0]} but its mask {where[1]} is '
                              f'{mask.shape[1]}x{mask.shape[0]}')
    index = mask_to_index(mask[..., ::-1], where[1], unmatched_to_unknown)
    _common.atomic_write_png(out_mask, index)  # the mask first: an image counts once both exist
    _common.atomic_write_bytes(out_img, img_bytes)
    return split, 1


def official_train_ids(meta) -> list:
    """Ids of the labelled (``split == 'train'``) rows of the Kaggle ``metadata.csv``, or [] if unreadable."""
    try:
        rows = csv.DictReader(io.StringIO(read_bytes(meta.src).decode('utf-8-sig')))
        return sorted({r['image_id'].strip() for r in rows if (r.get('split') or '').strip() == 'train'})
    except (KeyError, UnicodeDecodeError, csv.Error):
        return []


def collect(raw: str) -> Dict[str, tuple]:
    """``{id: (image member, mask member)}`` of the labelled images; missing partners are reported."""
    members = list_members(raw, 'DeepGlobe Land Cover', URL)
    roles = assign(members, {'img': _SAT, 'mask': _MASK, 'unlabelled': _UNLABELLED, 'meta': _META},
                   key=lambda m: m.group(1) if m.re is not _META else 'metadata.csv', exclusive=True)
    imgs, masks = roles['img'], roles['mask']
    pairs = {i: (imgs[i], masks[i]) for i in sorted(set(imgs) & set(masks))}
    conversion_hint = (f'expected train/<id>_sat.jpg with train/<id>_mask.png (found {len(imgs)} image(s), '
                       f'{len(masks)} mask(s)): it is not the DeepGlobe Land Cover archive (download it from {URL})')
    require_some(len(pairs), 'DeepGlobe Land Cover', 'image/mask pairs', raw, conversion_hint)
    meta = roles['meta'].get('metadata.csv')
    official = official_train_ids(meta) if meta else []
    missing = sorted(set(official) - set(pairs) - set(imgs) - set(masks))
    warn_missing('DeepGlobe', 'labelled images', len(pairs), len(official) or OFFICIAL_LABELLED, missing, {
        'images without their mask': [imgs[i].where for i in sorted(set(imgs) - set(masks))],
        'masks without their image': [masks[i].where for i in sorted(set(masks) - set(imgs))]})
    if roles['unlabelled']:
        print(f'{len(roles["unlabelled"])} unlabelled valid/ and test/ image(s) skipped (no masks are published)')
    return pairs


def convert(raw: str, out_dir: str, nproc: int = 1, split_lists: str = None, seed: int = 0,
            unmatched_to_unknown: bool = False) -> Dict[str, int]:
    _common.start_run(out_dir)
    pairs = collect(raw)
    splits = choose_splits(list(pairs), split_lists, EXPECTED, seed, 'GLNet', "GLNet's lists")
    tasks = []
    for split, ids in splits.items():
        for i in ids:
            img_m, mask_m = pairs[i]
            out_img = osp.join(out_dir, 'img_dir', split, f'{i}.jpg')
            out_mask = osp.join(out_dir, 'ann_dir', split, f'{i}.png')
            tasks.append((_convert_one, (split, img_m.src, mask_m.src, (img_m.where, mask_m.where), out_img,
                                         out_mask, unmatched_to_unknown), [out_img, out_mask]))
    counts = _common.run_tasks(tasks, nproc=nproc, desc='DeepGlobe')
    write_split_lists(out_dir, splits)
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('raw', help='the Kaggle archive (archive.zip), the folder holding it, or the extracted folder')
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
    _common.print_summary(counts, EXPECTED, args.out_dir)
    print(f'(official: {OFFICIAL_LABELLED} labelled images in the GLNet split {EXPECTED})')


if __name__ == '__main__':
    main()

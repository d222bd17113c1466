"""Convert the Inria Aerial Image Labeling dataset to the layout of ``InriaAerialDataset``.

    python data_converters/inria.py RAW -o data/inria [--split-lists FCTL_TXT_1] [--nproc 4]

RAW is the dataset as distributed by https://project.inria.fr/aerialimagelabeling/ in any of these forms:
``NEW2-AerialImageDataset.zip``, the folder holding it, or the extracted ``AerialImageDataset`` folder (or its
parent). The multi-part 7z ``aerialimagelabeling.7z.001`` ... ``.005`` must be extracted first (``7z x
aerialimagelabeling.7z.001``; a single ``.7z`` is read directly only when the optional ``py7zr`` is installed).
Only ``train/`` has ground truth (180 tiles ``<city><n>.tif``, n = 1..36, 5000x5000 RGB GeoTIFF; GT
``train/gt/<city><n>.tif`` -- same name, other folder -- single-band 0/255; cities austin, chicago, kitsap, tyrol-w,
vienna); ``test/`` is unlabelled and skipped. A partial download converts the complete tiles there and names the
missing official tiles on stderr; only nothing usable is an error. Output:

    OUT/img_dir/<split>/<city><n>.tif   the GeoTIFFs, copied byte for byte after a read check
    OUT/ann_dir/<split>/<city><n>.png   0 background, 1 building (GT / 255)
    OUT/splits/<split>.txt              tile ids (``ann_file`` with ``img_dir/<split>`` / ``ann_dir/<split>``)
    OUT/splits/all.txt                  ``<split>/<tile>`` (with ``img_dir`` / ``ann_dir``)

Splits: ``--split-lists DIR`` with FCtL's ``txt_1/train.txt``, ``crossvali.txt`` (val), ``test.txt`` (126 / 27 / 27,
https://github.com/liqiokkk/FCtL). Without it a seeded random 126 / 27 / 27 split is written (not the published
protocol; the summary says so). Re-running skips finished files; an interrupted run leaves no partial file.
"""
import argparse
import os.path as osp
import re
import shutil
import sys
import tempfile
from typing import Dict, Tuple

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import _common  # noqa: E402  (helpers without the torch/mmseg start-up)
from _sources import Member, assign, list_members, raster_src, read_bytes, require_some, warn_missing  # noqa: E402
from _uhr_splits import choose_splits, write_split_lists  # noqa: E402

ConversionError = _common.ConversionError

URL = 'https://project.inria.fr/aerialimagelabeling/'
EXPECTED = {'train': 126, 'val': 27, 'test': 27}
CITIES = ('austin', 'chicago', 'kitsap', 'tyrol-w', 'vienna')
TILES_PER_CITY = 36
# roles by folder: an image and its ground truth have the same file name
_IMG = re.compile(r'(?:^|/)train/images/([a-z-]+\d+)\.tif$')
_GT = re.compile(r'(?:^|/)train/gt/([a-z-]+\d+)\.tif$')
_TEST = re.compile(r'(?:^|/)test/images/([a-z-]+\d+)\.tif$')


def _seven_zip(path: str, tmp_root: str) -> str:
    try:
        import py7zr  # optional, not a dependency
    except ImportError:
        raise ConversionError(
            f'{path} is a 7z archive and the optional package py7zr is not installed. Extract it with 7-Zip '
            f'(e.g. `7z x {osp.basename(path)}`, which also joins the .001-.005 parts) and pass the extracted '
            'AerialImageDataset folder.') from None
    if re.search(r'\.7z\.\d+$', path):
        raise ConversionError(f'{path} is one part of a multi-part 7z archive: extract it with `7z x '
                              f'{osp.basename(path)}` and pass the AerialImageDataset folder')
    with py7zr.SevenZipFile(path) as z:
        z.extractall(tmp_root)
    return tmp_root


def locate(raw: str, tmp_root: str) -> Tuple[str, Dict[str, Tuple[Member, Member]]]:
    """``(what was read, {tile id: (image member, GT member)})`` of the complete labelled tiles."""
    if not osp.exists(raw):
        raise ConversionError(f'{raw} not found. Download the Inria Aerial Image Labeling dataset from {URL} and '
                              'pass NEW2-AerialImageDataset.zip or its folder, or extract the 7z parts and pass '
                              'the AerialImageDataset folder.')
    if osp.isfile(raw) and re.search(r'\.7z(\.\d+)?$', raw):
        raw = _seven_zip(raw, tmp_root)
    members = list_members(raw, 'Inria Aerial Image Labeling', URL)
    roles = assign(members, {'img': _IMG, 'gt': _GT, 'test': _TEST}, exclusive=True)
    imgs, gts = roles['img'], roles['gt']
    pairs = {t: (imgs[t], gts[t]) for t in sorted(set(imgs) & set(gts))}
    if not pairs and any(re.search(r'\.7z(\.\d+)?$', m.path) for m in members):
        raise ConversionError(f'{raw} holds the 7z parts only: extract them with `7z x aerialimagelabeling.7z.001` '
                              'and pass the extracted AerialImageDataset folder')
    require_some(len(pairs), 'Inria Aerial', 'train/images + train/gt tiles', raw,
                 f'found {len(imgs)} train/images and {len(gts)} train/gt <city><n>.tif. Pass '
                 'NEW2-AerialImageDataset.zip, its folder, or the extracted AerialImageDataset folder (from '
                 f'{URL}; extract the 7z parts with `7z x aerialimagelabeling.7z.001`)')
    official = [f'{c}{n}' for c in CITIES for n in range(1, TILES_PER_CITY + 1)]
    missing = sorted(set(official) - set(imgs) - set(gts))
    warn_missing('Inria', 'training tiles', len(pairs), len(official), missing, {
        'images without train/gt': [imgs[t].where for t in sorted(set(imgs) - set(gts))],
        'ground truth without train/images': [gts[t].where for t in sorted(set(gts) - set(imgs))]})
    if roles['test']:
        print(f'{len(roles["test"])} unlabelled test/images tile(s) skipped (no ground truth is published)')
    return raw, pairs


def _convert_one(split: str, tile: str, img_src: tuple, gt_src: tuple, where: tuple, out_img: str, out_mask: str,
                 verify: bool):
    gt = _common.read_raster(raster_src(gt_src), where[1])[..., 0]
    if verify:
        h, w = _common.read_raster(raster_src(img_src), where[0]).shape[:2]  # full read: catches truncation
    else:
        h, w = _common.raster_size(raster_src(img_src), where[0])
    if (h, w) != gt.shape:
        raise ConversionError(f'image {where[0]} is {w}x{h} but its ground truth {where[1]} is '
                              f'{gt.shape[1]}x{gt.shape[0]}')
    bad = (gt != 0) & (gt != 255)
    if bad.any():
        ys, xs = bad.nonzero()
        raise ConversionError(f'{where[1]}: value {int(gt[ys[0], xs[0]])} at (row {ys[0]}, col {xs[0]}) is not an '
                              f'Inria label (0 background, 255 building; {int(bad.sum())} pixel(s) in all); the file '
                              'is not the official one or is damaged')
    _common.atomic_write_png(out_mask, (gt // 255).astype(np.uint8))
    _common.atomic_write_bytes(out_img, read_bytes(img_src))
    return split, 1


def convert(raw: str, out_dir: str, nproc: int = 1, split_lists: str = None, seed: int = 0,
            verify: bool = True) -> Dict[str, int]:
    _common.start_run(out_dir)
    tmp_root = tempfile.mkdtemp(prefix='inria-7z-')
    try:
        _, pairs = locate(raw, tmp_root)
        splits = choose_splits(list(pairs), split_lists, EXPECTED, seed, 'FCtL', "FCtL's txt_1 lists")
        tasks = []
        for split, ids in splits.items():
            for t in ids:
                out_img = osp.join(out_dir, 'img_dir', split, f'{t}.tif')
                out_mask = osp.join(out_dir, 'ann_dir', split, f'{t}.png')
                img_m, gt_m = pairs[t]
                tasks.append((_convert_one, (split, t, img_m.src, gt_m.src, (img_m.where, gt_m.where), out_img,
                                             out_mask, verify), [out_img, out_mask]))
        counts = _common.run_tasks(tasks, nproc=nproc, desc='Inria')
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    write_split_lists(out_dir, splits)
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('raw', help='NEW2-AerialImageDataset.zip, the folder holding it, the extracted '
                                    'AerialImageDataset folder (or its parent), or a .7z (with py7zr installed)')
    parser.add_argument('-o', '--out-dir', default='data/inria')
    parser.add_argument('--split-lists', help="folder with FCtL's txt_1 train.txt, crossvali.txt, test.txt")
    parser.add_argument('--seed', type=int, default=0, help='seed of the fallback random split')
    parser.add_argument('--no-verify', action='store_true', help='do not decode every image (header check only)')
    parser.add_argument('--nproc', type=int, default=1, help='worker processes')
    args = parser.parse_args()
    try:
        counts = convert(args.raw, args.out_dir, args.nproc, args.split_lists, args.seed, not args.no_verify)
    except ConversionError as e:
        sys.exit(f'inria: {e}')
    _common.print_summary(counts, EXPECTED, args.out_dir)
    print(f'(official: {len(CITIES) * TILES_PER_CITY} labelled tiles in the FCtL split {EXPECTED})')


if __name__ == '__main__':
    main()

"""Convert the Inria Aerial Image Labeling dataset to the layout of ``InriaAerialDataset``.

    python data_converters/inria.py RAW -o data/inria [--split-lists FCTL_TXT_1] [--nproc 4]

RAW is the dataset as distributed by https://project.inria.fr/aerialimagelabeling/ : the multi-part 7z
``aerialimagelabeling.7z.001`` ... ``.005`` (or ``NEW2-AerialImageDataset.zip``). A 7z archive must be extracted
first (``7z x aerialimagelabeling.7z.001``; a ``.7z`` is read directly only when the optional ``py7zr`` package is
installed); pass the extracted ``AerialImageDataset`` folder (or its parent). A ``.zip`` is read as it is. Only
``train/`` has ground truth (180 tiles ``<city><n>.tif``, 5000x5000 RGB GeoTIFF, GT single-band 0/255, cities
austin, chicago, kitsap, tyrol-w, vienna); ``test/`` is unlabelled and skipped. Output:

    OUT/images/<city><n>_sat.tif    the GeoTIFFs, copied byte for byte after a read check
    OUT/masks/<city><n>_mask.png    0 background, 1 building (GT / 255)
    OUT/splits/{train,val,test,all}.txt

Splits: ``--split-lists DIR`` with FCtL's ``txt_1/train.txt``, ``crossvali.txt`` (val), ``test.txt`` (126 / 27 / 27,
https://github.com/liqiokkk/FCtL). Without it a seeded random 126 / 27 / 27 split is written (not the published
protocol; the summary says so). Re-running skips finished files; an interrupted run leaves no partial file.
"""
import argparse
import os
import os.path as osp
import re
import shutil
import sys
import tempfile
from typing import Dict, Tuple

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _light import conversion  # noqa: E402  (helpers without the torch/mmseg start-up)
from _uhr_splits import choose_splits  # noqa: E402

ConversionError = conversion.ConversionError

URL = 'https://project.inria.fr/aerialimagelabeling/'
EXPECTED = {'train': 126, 'val': 27, 'test': 27}
CITIES = ('austin', 'chicago', 'kitsap', 'tyrol-w', 'vienna')
_IMG = re.compile(r'^(?:.*/)?train/images/([a-z-]+\d+)\.tif$')


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


def locate(raw: str, tmp_root: str) -> Tuple[str, Dict[str, Tuple[str, str]]]:
    """``(description, {tile id: (image source, GT source)})``; sources are paths or ``zip://`` URLs for
    rasterio."""
    if not osp.exists(raw):
        raise ConversionError(f'{raw} not found. Download the Inria Aerial Image Labeling dataset from {URL}, '
                              'extract the 7z parts and pass the AerialImageDataset folder.')
    if osp.isfile(raw) and re.search(r'\.7z(\.\d+)?$', raw):
        raw = _seven_zip(raw, tmp_root)
    pairs = {}
    if osp.isfile(raw):
        zf = conversion.open_zip(raw, 'Inria Aerial', URL)
        members = set(zf.namelist())
        zf.close()
        for m in sorted(members):
            mt = _IMG.match(m)
            if mt:
                gt = m.replace('/images/', '/gt/')
                if gt not in members:
                    raise ConversionError(f'{raw}: ground truth {gt} for {m} is missing; the archive is incomplete')
                pairs[mt.group(1)] = (f'zip://{osp.abspath(raw)}!{m}', f'zip://{osp.abspath(raw)}!{gt}')
        what = raw
    else:
        root = None
        for cand in (raw, osp.join(raw, 'AerialImageDataset')):
            if osp.isdir(osp.join(cand, 'train', 'images')):
                root = cand
                break
        if root is None:
            raise ConversionError(f'{raw} has no train/images folder: pass the extracted AerialImageDataset folder '
                                  f'(from {URL}; extract the 7z parts with `7z x aerialimagelabeling.7z.001`)')
        for f in sorted(os.listdir(osp.join(root, 'train', 'images'))):
            mt = _IMG.match(f'train/images/{f}')
            if mt:
                gt = osp.join(root, 'train', 'gt', f)
                if not osp.isfile(gt):
                    raise ConversionError(f'ground truth {gt} for {f} is missing; the extraction is incomplete')
                pairs[mt.group(1)] = (osp.join(root, 'train', 'images', f), gt)
        what = root
    if not pairs:
        raise ConversionError(f'{what} has no train/images/<city><n>.tif tiles: it is not the Inria Aerial dataset '
                              f'({URL})')
    return what, pairs


def _copy(src: str, dst: str):
    if src.startswith('zip://'):
        archive, member = src[len('zip://'):].split('!', 1)
        data = conversion.worker_zip(archive).read(member)
    else:
        with open(src, 'rb') as f:
            data = f.read()
    conversion.atomic_write_bytes(dst, data)


def _convert_one(split: str, tile: str, img_src: str, gt_src: str, out_img: str, out_mask: str, verify: bool):
    gt = conversion.read_raster(gt_src, gt_src)[..., 0]
    if verify:
        h, w = conversion.read_raster(img_src, img_src).shape[:2]  # full read: catches truncated files
    else:
        h, w = conversion.raster_size(img_src, img_src)
    if (h, w) != gt.shape:
        raise ConversionError(f'image {img_src} is {w}x{h} but its ground truth {gt_src} is '
                              f'{gt.shape[1]}x{gt.shape[0]}')
    bad = (gt != 0) & (gt != 255)
    if bad.any():
        ys, xs = bad.nonzero()
        raise ConversionError(f'{gt_src}: value {int(gt[ys[0], xs[0]])} at (row {ys[0]}, col {xs[0]}) is not an '
                              f'Inria label (0 background, 255 building; {int(bad.sum())} pixel(s) in all); the file '
                              'is not the official one or is damaged')
    conversion.atomic_write_png(out_mask, (gt // 255).astype(np.uint8))
    _copy(img_src, out_img)
    return split, 1


def convert(raw: str, out_dir: str, nproc: int = 1, split_lists: str = None, seed: int = 0,
            verify: bool = True) -> Dict[str, int]:
    conversion.start_run(out_dir)
    tmp_root = tempfile.mkdtemp(prefix='inria-7z-')
    try:
        _, pairs = locate(raw, tmp_root)
        splits = choose_splits(list(pairs), split_lists, EXPECTED, seed, 'FCtL', "FCtL's txt_1 lists")
        tasks = []
        for split, ids in splits.items():
            for t in ids:
                out_img = osp.join(out_dir, 'images', f'{t}_sat.tif')
                out_mask = osp.join(out_dir, 'masks', f'{t}_mask.png')
                tasks.append((_convert_one, (split, t, *pairs[t], out_img, out_mask, verify), [out_img, out_mask]))
        counts = conversion.run_tasks(tasks, nproc=nproc, desc='Inria')
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    for split, ids in splits.items():
        conversion.write_split_list(osp.join(out_dir, 'splits', f'{split}.txt'), ids)
    conversion.write_split_list(osp.join(out_dir, 'splits', 'all.txt'), [i for ids in splits.values() for i in ids])
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('raw', help='the extracted AerialImageDataset folder (or its parent), a .zip, or a .7z '
                                    '(with py7zr installed)')
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
    conversion.print_summary(counts, EXPECTED, args.out_dir)


if __name__ == '__main__':
    main()

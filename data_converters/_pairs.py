"""Shared driver of the image/label-pair converters (DLRSD, UDD5, VDD): official files -> mmseg layout.

Each dataset is a :class:`PairSpec`: how to find the (split, name, image, label) files, the label coding. The
input is the archive(s), the folder holding them or the extracted tree (see ``_sources.py``); a partial download
converts the complete pairs and names what is missing. The driver reads image and label straight from the
archives (nothing is extracted), checks that
they match in size, turns the label into class indices (colour labels through the palette, index labels checked
against the class count, 255 = ignore kept), optionally cuts tiles (``--tile``; the last row/column is shifted
back to the border, as mmseg's slide inference does) and writes

    OUT/img_dir/<split>/<name>[_<y>_<x>].png     (lossless PNG, RGB content)
    OUT/ann_dir/<split>/<name>[_<y>_<x>].png     (uint8 class indices, 255 = ignored)
    OUT/splits/<split>.txt                       (names without suffix, one per line)
    OUT/splits/all.txt                           (``<split>/<name>``: use with img_path='img_dir',
                                                  seg_map_path='ann_dir', ann_file='splits/all.txt')

Every file is written atomically; a re-run skips the images already done (a marker under ``OUT/.progress`` is
written after the last tile of an image) and removes temp files of an interrupted run.
"""
import argparse
import io
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

# helpers without the torch/mmseg start-up (see _common.py)
from _common import (atomic_write_bytes, atomic_write_png, ConversionError, decode_image,  # noqa: E402
                    print_summary, rgb_to_index, run_tasks, slide_grid, start_run, write_split_list)
from _sources import Member, assign, list_members, read_bytes, require_some, warn_missing  # noqa: E402

# One item: (split, name, image member, label member or None)
Item = Tuple[str, str, Member, Optional[Member]]


class PairSpec:
    """What differs between the pair datasets."""
    name: str = ''
    url: str = ''
    classes: Tuple[str, ...] = ()
    palette: Dict[Tuple[int, int, int], int] = {}   # RGB colour -> class index (colour-coded labels)
    expected: Dict[str, int] = {}                   # official number of images per split

    def items(self, raw_dir: str, opts: dict) -> List[Item]:
        raise NotImplementedError


def pair_items(spec: PairSpec, raw: str, img_rx, lab_rx, split_of=None, official=None, hint: str = '') -> List[Item]:
    """Items from the members of ``raw`` whose logical paths match ``img_rx`` / ``lab_rx`` (the key is the
    match's groups joined by '/': ``split/name`` or ``category/name``); ``split_of(key) -> (split, name)``
    (default: the key's two parts). Orphans and, when ``official`` keys are known, missing items are reported;
    only no complete pair at all is an error."""
    roles = assign(list_members(raw, spec.name, spec.url), {'img': img_rx, 'lab': lab_rx},
                   key=lambda m: '/'.join(m.groups()), exclusive=True)
    imgs, labs = roles['img'], roles['lab']
    keys = sorted(set(imgs) & set(labs))
    require_some(len(keys), spec.name, 'image/label pairs', raw,
                 f'found {len(imgs)} image(s) and {len(labs)} label(s) with matching names{hint}. Download the '
                 f'official release from {spec.url} and pass the archive(s), their folder or the extracted tree.')
    missing = sorted(set(official or ()) - set(imgs) - set(labs))
    warn_missing(spec.name, 'images', len(keys), sum(spec.expected.values()) or None, missing, {
        'images without label': [imgs[k].where for k in sorted(set(imgs) - set(labs))],
        'labels without image': [labs[k].where for k in sorted(set(labs) - set(imgs))]})
    split_of = split_of or (lambda k: tuple(k.split('/', 1)))
    return [(*split_of(k), imgs[k], labs[k]) for k in keys]


def read_label(data: bytes, where: str, spec_palette: Dict[Tuple[int, int, int], int], num_classes: int,
               gray_offset: int = 0) -> np.ndarray:
    """Decode a label (colour, palette or grey-index PNG/TIFF) into (H, W) uint8 class indices."""
    from PIL import Image, UnidentifiedImageError
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ConversionError(f'corrupt or unreadable label: {where} ({e}). Re-download the archive.') from e
    if im.mode in ('P', 'RGB', 'RGBA', 'PA'):  # colour-coded (a palette image carries its colours)
        try:
            return rgb_to_index(np.asarray(im.convert('RGB')), spec_palette, where)
        except ConversionError:
            if im.mode != 'P':
                raise
            # a palette PNG whose colours are not the dataset's: its indices are the class ids (VDD-style)
            idx = np.asarray(im)
            if not ((idx < num_classes) | (idx == 255)).all():
                raise
            return idx.astype(np.uint8)
    if im.mode not in ('L', 'I', 'I;16'):
        raise ConversionError(f'{where}: unsupported label mode {im.mode!r} (expected colour or 8-bit index)')
    arr = np.asarray(im).astype(np.int64)
    valid = arr != 255
    arr = np.where(valid, arr - gray_offset, 255)
    bad = valid & ((arr < 0) | (arr >= num_classes))
    if bad.any():
        ys, xs = bad.nonzero()
        raise ConversionError(f'{where}: label value {int(arr[ys[0], xs[0]]) + gray_offset} at (row {ys[0]}, col '
                              f'{xs[0]}) is not a class index (expected 0..{num_classes - 1} after offset '
                              f'{gray_offset}, or 255)')
    return arr.astype(np.uint8)


def read_rgb(data: bytes, where: str) -> np.ndarray:
    """Decode an image as (H, W, 3) BGR (cv2 order, ready for cv2.imencode)."""
    import cv2
    img = decode_image(data, where, cv2.IMREAD_COLOR)
    return img


def _marker(out_dir: str, split: str, name: str) -> str:
    return osp.join(out_dir, '.progress', split, f'{name}.done')


def convert_pair(split: str, img_src: Tuple[str, str], lab_src: Optional[Tuple[str, str]], out_dir: str,
                 name: str, palette_items: tuple, num_classes: int, tile: int, stride: int,
                 gray_offset: int, wheres: Tuple[str, str] = ('', '')) -> Tuple[str, int]:
    """Convert one image (and label): returns (split, 1); tiles and the progress marker are written."""
    img_where, lab_where = wheres
    img = read_rgb(read_bytes(img_src), img_where)
    lab = None
    if lab_src is not None:
        lab = read_label(read_bytes(lab_src), lab_where, dict(palette_items), num_classes, gray_offset)
        if lab.shape[:2] != img.shape[:2]:
            raise ConversionError(f'image {img_where} is {img.shape[1]}x{img.shape[0]} but its label '
                                  f'{lab_where} is {lab.shape[1]}x{lab.shape[0]}')
    h, w = img.shape[:2]
    boxes = slide_grid(h, w, tile, stride) if tile else [(0, 0, h, w)]
    for (y1, x1, y2, x2) in boxes:
        piece = f'{name}_{y1}_{x1}' if tile else name
        if lab is not None:
            atomic_write_png(osp.join(out_dir, 'ann_dir', split, f'{piece}.png'), lab[y1:y2, x1:x2])
        atomic_write_png(osp.join(out_dir, 'img_dir', split, f'{piece}.png'), np.ascontiguousarray(img[y1:y2,
                                                                                                         x1:x2]))
    if tile:  # all tiles are on disk: mark the image done (its tile names depend on its size)
        atomic_write_bytes(_marker(out_dir, split, name), b'')
    return split, 1


def convert(spec: PairSpec, raw_dir: str, out_dir: str, nproc: int = 1, tile: int = 0, stride: int = 0,
            gray_offset: int = 0, **opts) -> Tuple[Dict[str, int], Dict[str, int]]:
    """Convert ``raw_dir`` (official archives) to ``out_dir``; returns (images per split, expected)."""
    if tile < 0 or stride < 0:
        raise ConversionError(f'--tile and --stride must be positive, got {tile} / {stride}')
    stride = stride or tile
    start_run(out_dir)
    items = spec.items(raw_dir, opts)
    seen = {}
    for split, name, img_m, _ in items:
        if (split, name) in seen:
            raise ConversionError(f'two images are named {name} in split {split}: {seen[(split, name)]} and '
                                  f'{img_m.where}')
        seen[(split, name)] = img_m.where
    palette_items = tuple(sorted(spec.palette.items()))
    tasks = []
    for split, name, img_m, lab_m in items:
        if tile:
            outputs = [_marker(out_dir, split, name)]
        else:
            outputs = [osp.join(out_dir, 'img_dir', split, f'{name}.png')]
            if lab_m is not None:
                outputs.append(osp.join(out_dir, 'ann_dir', split, f'{name}.png'))
        tasks.append((convert_pair, (split, img_m.src, None if lab_m is None else lab_m.src, out_dir, name,
                                     palette_items, len(spec.classes), tile, stride, gray_offset,
                                     (img_m.where, '' if lab_m is None else lab_m.where)), outputs))
    counts = run_tasks(tasks, nproc=nproc, desc=spec.name)
    # split lists from what is on disk for the items of this run (tile names depend on the image sizes)
    every = []
    for split in sorted({it[0] for it in items}):
        names = {it[1] for it in items if it[0] == split}
        folder = osp.join(out_dir, 'img_dir', split)
        pieces = [f[:-4] for f in os.listdir(folder) if f.endswith('.png') and
                  (f[:-4] in names or (tile and f[:-4].rsplit('_', 2)[0] in names))]
        write_split_list(osp.join(out_dir, 'splits', f'{split}.txt'), pieces)
        every += [f'{split}/{p}' for p in pieces]
        if tile:
            counts[f'{split} tiles'] = len(pieces)
    write_split_list(osp.join(out_dir, 'splits', 'all.txt'), every)
    return counts, dict(spec.expected)


def main(spec: PairSpec, default_out: str, add_options=None) -> None:
    parser = argparse.ArgumentParser(description=sys.modules['__main__'].__doc__ + '\n' + __doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('raw_dir', help='the official archive, the folder holding the archive(s), or the extracted '
                                        'tree')
    parser.add_argument('-o', '--out-dir', default=default_out)
    parser.add_argument('--nproc', type=int, default=1)
    parser.add_argument('--tile', type=int, default=0, help='cut tiles of this size (default 0: whole images)')
    parser.add_argument('--stride', type=int, default=0, help='tile stride (default: --tile, no overlap)')
    if add_options:
        add_options(parser)
    args = vars(parser.parse_args())
    raw_dir, out_dir = args.pop('raw_dir'), args.pop('out_dir')
    try:
        counts, expected = convert(spec, raw_dir, out_dir, **args)
    except ConversionError as e:
        sys.exit(f'{spec.name.lower()}: {e}')
    print_summary(counts, expected, out_dir)

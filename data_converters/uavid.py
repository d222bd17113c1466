"""Convert the official UAVid release to mmseg layout.

    python data_converters/uavid.py RAW [RAW ...] -o data/uavid [--preset frames|authors] [--nproc 4]

RAW is ``uavid_v1.5_official_release_image.zip`` as downloaded from https://uavid.nl/, the folder holding it, or
the tree it extracts to (members ``.../uavid_{train,val,test}/seq<N>/Images/<frame>.png`` and, for train/val,
``.../Labels/<frame>.png`` colour labels under the same frame names: roles come from the ``Images`` / ``Labels``
folders). A partial download converts the frames there (a frame without its label is skipped), warns with the
counts against the official ones; only nothing usable is an error. Output: ``img_dir/{train,val,test}``,
``ann_dir/{train,val}`` named ``seq<N>_<frame>[_<y>_<x>].png``, labels as indices in UAVidDataset's order
(building, road, tree, low_vegetation, moving_car, static_car, human, clutter; white boundary pixels -> 255), and
``splits/{train,val,test,train_val}.txt``.

Presets:
  frames   (default) whole frames, untouched geometry: what the test server scores and what slide inference
           should see.
  authors  the D2LS/GeoSeg tiling (GeoSeg's ``uavid_patch_split.py``, used by D2LS): pad bottom-right to 3072x4096
           (image 0, label 255), keep the bottom-right 2048x4096 region, cut 1024 tiles at stride 1024 (8 per
           frame). The top rows of each frame are not used by this protocol.
Official counts (frames): train 200 (20 sequences), val 70 (7), test 150 (15).
"""
import argparse
import os.path as osp
import re
import sys
from typing import List, Sequence, Tuple, Union

import numpy as np

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

# helpers without the torch/mmseg start-up (see _common.py)
from _common import (atomic_write_png, ConversionError, decode_image, print_summary,  # noqa: E402
                    rgb_to_index, run_tasks, start_run, write_split_list)
from _sources import assign, list_members, read_bytes, require_some, warn_missing  # noqa: E402

URL = 'https://uavid.nl/'
ARCHIVE = 'uavid_v1.5_official_release_image.zip'
EXPECTED_FRAMES = {'train': 200, 'val': 70, 'test': 150}
# official colours -> UAVidDataset indices (clutter last, GeoSeg/D2LS order)
PALETTE = {(128, 0, 0): 0, (128, 64, 128): 1, (0, 128, 0): 2, (128, 128, 0): 3, (64, 0, 128): 4,
           (192, 0, 192): 5, (64, 64, 0): 6, (0, 0, 0): 7, (255, 255, 255): 255}
IMAGE_RE = re.compile(r'(?:^|/)uavid_(train|val|test)/(seq\d+)/Images/(\d+)\.png$')
LABEL_RE = re.compile(r'(?:^|/)uavid_(train|val)/(seq\d+)/Labels/(\d+)\.png$')
AUTHORS = dict(canvas=(3072, 4096), region=(2048, 4096), tile=1024)


def authors_boxes() -> List[Tuple[int, int, int, int]]:
    ch, cw = AUTHORS['canvas']
    rh, rw = AUTHORS['region']
    t = AUTHORS['tile']
    return [(y, x, y + t, x + t) for y in range(ch - rh, ch, t) for x in range(cw - rw, cw, t)]


def _pad_to(arr: np.ndarray, shape: Tuple[int, int], value: int) -> np.ndarray:
    h, w = arr.shape[:2]
    if h > shape[0] or w > shape[1]:
        raise ConversionError(f'frame of {w}x{h} is larger than the {shape[1]}x{shape[0]} canvas of the '
                              'authors preset')
    pad = [(0, shape[0] - h), (0, shape[1] - w)] + [(0, 0)] * (arr.ndim - 2)
    return np.pad(arr, pad, constant_values=value)


def _where(src) -> str:
    return f'{src[0]}:{src[1]}' if src[0] else src[1]


def _convert_one(split: str, img_src, lab_src, out_dir: str, name: str, preset: str):
    img = decode_image(read_bytes(img_src), _where(img_src))  # BGR
    if img.ndim != 3 or img.shape[2] != 3:
        raise ConversionError(f'{_where(img_src)}: expected a 3-channel image, got shape {img.shape}')
    lab = None
    if lab_src is not None:
        bgr = decode_image(read_bytes(lab_src), _where(lab_src))
        if bgr.ndim != 3 or bgr.shape[:2] != img.shape[:2]:
            raise ConversionError(f'image {_where(img_src)} is {img.shape[1]}x{img.shape[0]} but its label '
                                  f'{_where(lab_src)} has shape {bgr.shape}')
        lab = rgb_to_index(bgr[..., ::-1], PALETTE, _where(lab_src))
    if preset == 'frames':
        pieces = [(name, img, lab)]
    else:
        img = _pad_to(img, AUTHORS['canvas'], 0)
        lab = _pad_to(lab, AUTHORS['canvas'], 255) if lab is not None else None
        pieces = [(f'{name}_{y1}_{x1}', img[y1:y2, x1:x2], None if lab is None else lab[y1:y2, x1:x2])
                  for (y1, x1, y2, x2) in authors_boxes()]
    for piece, im, lb in pieces:
        if lb is not None:
            atomic_write_png(osp.join(out_dir, 'ann_dir', split, f'{piece}.png'), lb)
        atomic_write_png(osp.join(out_dir, 'img_dir', split, f'{piece}.png'), np.ascontiguousarray(im))
    return split, len(pieces)


def collect(raw: Union[str, Sequence[str]], out_dir: str, preset: str) -> dict:
    raws = [raw] if isinstance(raw, str) else list(raw)
    members = [m for r in raws for m in list_members(r, 'UAVid', URL)]
    roles = assign(members, dict(img=IMAGE_RE, lab=LABEL_RE), key=lambda mt: '/'.join(mt.groups()), exclusive=True)
    imgs, labs = roles['img'], roles['lab']
    per_frame = 1 if preset == 'frames' else len(authors_boxes())
    tasks, names, frames = [], {}, {}
    for key in sorted(imgs):
        split, seq, frame = key.split('/')
        lab = labs.get(key)
        if split != 'test' and lab is None:
            continue  # reported below
        name = f'{seq}_{frame}'
        pieces = [name] if preset == 'frames' else [f'{name}_{y}_{x}' for (y, x, _, _) in authors_boxes()]
        outputs = [osp.join(out_dir, 'img_dir', split, f'{p}.png') for p in pieces]
        if split != 'test':
            outputs += [osp.join(out_dir, 'ann_dir', split, f'{p}.png') for p in pieces]
        tasks.append((_convert_one, (split, imgs[key].src, lab.src if lab else None, out_dir, name, preset),
                      outputs, per_frame))
        names.setdefault(split, []).extend(pieces)
        frames[split] = frames.get(split, 0) + 1
    require_some(len(tasks), 'UAVid', 'frame', ', '.join(raws),
                 f'no uavid_{{train,val,test}}/seq<N>/Images/<frame>.png (with Labels/<frame>.png for train and '
                 f'val). Pass {ARCHIVE} as downloaded from {URL}, its folder or the folder it extracts to.')
    for split, n in EXPECTED_FRAMES.items():
        warn_missing('UAVid', f'{split} frames', frames.get(split, 0), n)
    warn_missing('UAVid', 'frames', 0, None, orphans={
        'images without their Labels/ label': [imgs[k].where for k in sorted(imgs)
                                               if not k.startswith('test/') and k not in labs],
        'labels without their Images/ image': [labs[k].where for k in sorted(set(labs) - set(imgs))]})
    return dict(tasks=tasks, names=names, per_frame=per_frame)


def convert(raw_dir: Union[str, Sequence[str]], out_dir: str, nproc: int = 1,
            preset: str = 'frames') -> Tuple[dict, dict]:
    if preset not in ('frames', 'authors'):
        raise ConversionError(f'unknown preset {preset!r}: use frames or authors')
    start_run(out_dir)
    job = collect(raw_dir, out_dir, preset)
    counts = run_tasks(job['tasks'], nproc=nproc, desc='UAVid')
    names = job['names']
    if 'train' in names or 'val' in names:
        names['train_val'] = names.get('train', []) + names.get('val', [])
    for split, pieces in names.items():
        write_split_list(osp.join(out_dir, 'splits', f'{split}.txt'), pieces)
    expected = {k: v * job['per_frame'] for k, v in EXPECTED_FRAMES.items()}
    return counts, expected


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('raw_dir', nargs='+', help=f'{ARCHIVE} as downloaded, the folder holding it, or the folder '
                                                   'it extracts to')
    parser.add_argument('-o', '--out-dir', default='data/uavid')
    parser.add_argument('--nproc', type=int, default=1)
    parser.add_argument('--preset', choices=['frames', 'authors'], default='frames')
    args = parser.parse_args()
    try:
        counts, expected = convert(args.raw_dir, args.out_dir, args.nproc, args.preset)
    except ConversionError as e:
        sys.exit(f'uavid: {e}')
    print_summary(counts, expected, args.out_dir)


if __name__ == '__main__':
    main()

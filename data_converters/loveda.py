"""Convert the official LoveDA archives to mmseg layout.

    python data_converters/loveda.py RAW_DIR -o data/loveDA [--nproc 4] [--no-verify]

RAW_DIR holds ``Train.zip``, ``Val.zip`` and ``Test.zip`` exactly as downloaded from
the links on https://github.com/Junjue-Wang/LoveDA (Zenodo record 5706578; nothing extracted by hand). Output:

    OUT/img_dir/{train,val,test}/<id>.png    images, Urban and Rural merged (ids are unique across domains)
    OUT/ann_dir/{train,val}/<id>.png         raw masks, untouched: 0 = no-data, 1..7 = classes
                                             (LoveDADataset(reduce_zero_label=True) maps 0 -> 255, k -> k-1)
    OUT/splits/{train,val,test,trainval}.txt ids per split; trainval = Train+Val (the D2LS protocol trains on it)
    OUT/splits/{train,val,test}_{urban,rural}.txt  ids per domain

Images and masks are copied byte for byte after a decode check (``--no-verify`` skips it). Re-running skips
finished files; an interrupted run leaves no partial file. Official counts: train 2522 (Urban 1156 + Rural 1366),
val 1669 (Urban 677 + Rural 992), test 1796.
"""
import argparse
import os.path as osp
import re
import sys
from typing import Dict, List, Optional

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

# helpers without the torch/mmseg start-up (see _light.py)
from _light import (atomic_write_bytes, ConversionError, decode_image, open_zip, print_summary,  # noqa: E402
                    run_tasks, start_run, worker_zip, write_split_list)

URL = 'https://github.com/Junjue-Wang/LoveDA (Zenodo record 5706578)'
ARCHIVES = {'train': 'Train.zip', 'val': 'Val.zip', 'test': 'Test.zip'}
EXPECTED = {'train': 2522, 'val': 1669, 'test': 1796}
DOMAINS = ('Urban', 'Rural')
NUM_LABELS = 8  # 0 no-data + 7 classes


def _convert_one(split: str, zip_path: str, img_member: str, ann_member: Optional[str], out_img: str,
                 out_ann: Optional[str], verify: bool):
    zf = worker_zip(zip_path)
    img_bytes = zf.read(img_member)
    ann_bytes = zf.read(ann_member) if ann_member else None
    if verify:
        img = decode_image(img_bytes, f'{zip_path}:{img_member}')
        if img.ndim != 3 or img.shape[2] != 3:
            raise ConversionError(f'{zip_path}:{img_member}: expected a 3-channel image, got shape {img.shape}')
        if ann_bytes is not None:
            ann = decode_image(ann_bytes, f'{zip_path}:{ann_member}')
            if ann.ndim != 2:
                raise ConversionError(f'{zip_path}:{ann_member}: expected a single-channel label mask, '
                                      f'got shape {ann.shape}')
            if ann.shape != img.shape[:2]:
                raise ConversionError(f'{zip_path}: image {img_member} is {img.shape[1]}x{img.shape[0]} but '
                                      f'its mask {ann_member} is {ann.shape[1]}x{ann.shape[0]}')
            if ann.max() >= NUM_LABELS:
                ys, xs = (ann >= NUM_LABELS).nonzero()
                raise ConversionError(
                    f'{zip_path}:{ann_member}: label value {int(ann[ys[0], xs[0]])} at (row {ys[0]}, col '
                    f'{xs[0]}) is not a LoveDA label (0 = no-data, 1..7 = classes); the archive is not the '
                    'official one or is damaged')
    # the mask first: an image only counts as converted once both exist
    if ann_bytes is not None:
        atomic_write_bytes(out_ann, ann_bytes)
    atomic_write_bytes(out_img, img_bytes)
    return split, 1


def collect(raw_dir: str, out_dir: str, verify: bool = True) -> Dict[str, object]:
    """Check the archives and list one task per image; returns tasks and the ids per split/domain."""
    tasks, ids, seen = [], {}, {}
    for split, name in ARCHIVES.items():
        path = osp.join(raw_dir, name)
        zf = open_zip(path, 'LoveDA', URL)
        members = set(zf.namelist())
        zf.close()
        top = name[:-4]  # Train / Val / Test
        found = 0
        for domain in DOMAINS:
            pat = re.compile(rf'^{top}/{domain}/images_png/([^/]+)\.png$')
            for m in sorted(members):
                mt = pat.match(m)
                if not mt:
                    continue
                found += 1
                img_id = mt.group(1)
                if img_id in seen:
                    raise ConversionError(f'{path}: image id {img_id} appears twice ({seen[img_id]} and {m}); '
                                          'Urban and Rural ids must be unique to merge them')
                seen[img_id] = m
                ann_m = None
                if split != 'test':
                    ann_m = f'{top}/{domain}/masks_png/{img_id}.png'
                    if ann_m not in members:
                        raise ConversionError(f'{path}: mask {ann_m} for image {m} is missing; the archive is '
                                              f'incomplete: download it again from {URL}')
                out_img = osp.join(out_dir, 'img_dir', split, f'{img_id}.png')
                out_ann = osp.join(out_dir, 'ann_dir', split, f'{img_id}.png') if ann_m else None
                outputs = [p for p in (out_img, out_ann) if p]
                tasks.append((_convert_one, (split, path, m, ann_m, out_img, out_ann, verify), outputs))
                ids.setdefault(split, []).append(img_id)
                ids.setdefault(f'{split}_{domain.lower()}', []).append(img_id)
        if not found:
            raise ConversionError(f'{path} has no {top}/Urban/images_png/*.png or {top}/Rural/images_png/*.png '
                                  f'entries: it is not the official LoveDA {name} (download it from {URL})')
    return dict(tasks=tasks, ids=ids)


def convert(raw_dir: str, out_dir: str, nproc: int = 1, verify: bool = True) -> Dict[str, int]:
    start_run(out_dir)
    job = collect(raw_dir, out_dir, verify)
    counts = run_tasks(job['tasks'], nproc=nproc, desc='LoveDA')
    ids: Dict[str, List[str]] = job['ids']
    ids['trainval'] = ids.get('train', []) + ids.get('val', [])
    for key, names in ids.items():
        write_split_list(osp.join(out_dir, 'splits', f'{key}.txt'), names)
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('raw_dir', help='folder with Train.zip, Val.zip, Test.zip as downloaded')
    parser.add_argument('-o', '--out-dir', default='data/loveDA')
    parser.add_argument('--nproc', type=int, default=1, help='worker processes')
    parser.add_argument('--no-verify', action='store_true', help='copy without decoding each image')
    args = parser.parse_args()
    try:
        counts = convert(args.raw_dir, args.out_dir, args.nproc, verify=not args.no_verify)
    except ConversionError as e:
        sys.exit(f'loveda: {e}')
    print_summary(counts, EXPECTED, args.out_dir)


if __name__ == '__main__':
    main()

"""Convert the official LoveDA archives to mmseg layout.

    python data_converters/loveda.py RAW [RAW ...] -o data/loveDA [--nproc 4] [--no-verify]

RAW is ``Train.zip``, ``Val.zip`` and ``Test.zip`` as downloaded from the links on
https://github.com/Junjue-Wang/LoveDA (Zenodo record 5706578): the archives themselves (one or more RAW
arguments), the folder holding them, or the tree they extract to (``Train/Urban/images_png/<id>.png`` ...). Images
and masks share their basenames, so roles come from the folders (``images_png`` / ``masks_png``). A partial
download (Val.zip still downloading, a domain missing) converts what is there and warns with the counts against
the official ones and the images without mask / masks without image; only nothing usable is an error. Output:

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
from typing import Dict, List, Optional, Sequence, Union

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

# helpers without the torch/mmseg start-up (see _common.py)
from _common import (atomic_write_bytes, ConversionError, decode_image, print_summary,  # noqa: E402
                    run_tasks, start_run, write_split_list)
from _sources import assign, list_members, read_bytes, require_some, warn_missing  # noqa: E402

URL = 'https://github.com/Junjue-Wang/LoveDA (Zenodo record 5706578)'
ARCHIVES = {'train': 'Train.zip', 'val': 'Val.zip', 'test': 'Test.zip'}
EXPECTED = {'train': 2522, 'val': 1669, 'test': 1796}
DOMAINS = ('Urban', 'Rural')
NUM_LABELS = 8  # 0 no-data + 7 classes
# group 1 = Train/Val/Test, 2 = Urban/Rural, 3 = id
IMAGE_RE = re.compile(r'(?:^|/)(Train|Val|Test)/(Urban|Rural)/images_png/([^/]+)\.png$')
MASK_RE = re.compile(r'(?:^|/)(Train|Val)/(Urban|Rural)/masks_png/([^/]+)\.png$')


def _where(src) -> str:
    return f'{src[0]}:{src[1]}' if src[0] else src[1]


def _convert_one(split: str, img_src, ann_src, out_img: str, out_ann: Optional[str], verify: bool):
    img_bytes = read_bytes(img_src)
    ann_bytes = read_bytes(ann_src) if ann_src else None
    if verify:
        img = decode_image(img_bytes, _where(img_src))
        if img.ndim != 3 or img.shape[2] != 3:
            raise ConversionError(f'{_where(img_src)}: expected a 3-channel image, got shape {img.shape}')
        if ann_bytes is not None:
            ann = decode_image(ann_bytes, _where(ann_src))
            if ann.ndim != 2:
                raise ConversionError(f'{_where(ann_src)}: expected a single-channel label mask, '
                                      f'got shape {ann.shape}')
            if ann.shape != img.shape[:2]:
                raise ConversionError(f'image {_where(img_src)} is {img.shape[1]}x{img.shape[0]} but '
                                      f'its mask {_where(ann_src)} is {ann.shape[1]}x{ann.shape[0]}')
            if ann.max() >= NUM_LABELS:
                ys, xs = (ann >= NUM_LABELS).nonzero()
                raise ConversionError(
                    f'{_where(ann_src)}: label value {int(ann[ys[0], xs[0]])} at (row {ys[0]}, col '
                    f'{xs[0]}) is not a LoveDA label (0 = no-data, 1..7 = classes); the archive is not the '
                    'official one or is damaged')
    # the mask first: an image only counts as converted once both exist
    if ann_bytes is not None:
        atomic_write_bytes(out_ann, ann_bytes)
    atomic_write_bytes(out_img, img_bytes)
    return split, 1


def collect(raw: Union[str, Sequence[str]], out_dir: str, verify: bool = True) -> Dict[str, object]:
    """Find the images and masks and list one task per image; returns tasks and the ids per split/domain."""
    raws = [raw] if isinstance(raw, str) else list(raw)
    members = [m for r in raws for m in list_members(r, 'LoveDA', URL)]
    roles = assign(members, dict(img=IMAGE_RE, mask=MASK_RE), key=lambda mt: '/'.join(mt.groups()),
                   exclusive=True)
    imgs, masks = roles['img'], roles['mask']
    tasks, ids, seen, orphans = [], {}, {}, {}
    for key in sorted(imgs):
        top, domain, img_id = key.split('/')
        split = top.lower()
        m = imgs[key]
        if img_id in seen:
            raise ConversionError(f'image id {img_id} appears twice ({seen[img_id]} and {m.where}); Urban and '
                                  'Rural ids must be unique to merge them')
        seen[img_id] = m.where
        mask = masks.get(key)
        if split != 'test' and mask is None:
            orphans.setdefault('images without their masks_png mask', []).append(m.where)
            continue
        out_img = osp.join(out_dir, 'img_dir', split, f'{img_id}.png')
        out_ann = osp.join(out_dir, 'ann_dir', split, f'{img_id}.png') if mask else None
        outputs = [p for p in (out_img, out_ann) if p]
        tasks.append((_convert_one, (split, m.src, mask.src if mask else None, out_img, out_ann, verify), outputs))
        ids.setdefault(split, []).append(img_id)
        ids.setdefault(f'{split}_{domain.lower()}', []).append(img_id)
    orphans['masks without their images_png image'] = [masks[k].where for k in sorted(set(masks) - set(imgs))]
    require_some(len(tasks), 'LoveDA', 'image', ', '.join(raws),
                 f'no {{Train,Val,Test}}/{{Urban,Rural}}/images_png/<id>.png (with its masks_png/<id>.png for '
                 f'Train and Val). Pass Train.zip, Val.zip, Test.zip as downloaded from {URL}, their folder or the '
                 'folder they extract to.')
    for split, n in EXPECTED.items():
        warn_missing('LoveDA', f'{split} images', len(ids.get(split, [])), n)
    warn_missing('LoveDA', 'images', 0, None, orphans=orphans)
    return dict(tasks=tasks, ids=ids)


def convert(raw_dir: Union[str, Sequence[str]], out_dir: str, nproc: int = 1, verify: bool = True) -> Dict[str, int]:
    start_run(out_dir)
    job = collect(raw_dir, out_dir, verify)
    counts = run_tasks(job['tasks'], nproc=nproc, desc='LoveDA')
    ids: Dict[str, List[str]] = job['ids']
    if 'train' in ids or 'val' in ids:
        ids['trainval'] = ids.get('train', []) + ids.get('val', [])
    for key, names in ids.items():
        write_split_list(osp.join(out_dir, 'splits', f'{key}.txt'), names)
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('raw_dir', nargs='+', help='Train.zip, Val.zip, Test.zip as downloaded, the folder holding '
                                                   'them, or the folder they extract to')
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

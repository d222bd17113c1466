"""The ISPRS 2-D labelling converters' shared driver (Potsdam, Vaihingen): archives -> tiled mmseg layout.

Labels are written the way mmseg's own converters write them: 0 = the black boundary of the eroded ground truth,
1..6 = impervious_surface, building, low_vegetation, tree, car, clutter. mmseg's PotsdamDataset / ISPRSDataset
(``reduce_zero_label=True``, their default) then ignore the boundary and shift the classes to 0..5, so data
converted by either tool works with the same configs. Test areas go to the ``val`` folders (mmseg's naming).

Presets (``--preset``), each overridable by the individual options:
  authors  1024 tiles, train stride 512 on the full GT, test stride 1024 on the eroded GT (GeoSeg / D2LS / SCSM)
  mmseg    512 tiles at stride 256 on the eroded GT for both splits (mmseg's converter, without its
           stride quirk: its tile origins step by the tile size, so its tiles never overlap)
  ovrsis   256 tiles at stride 256 on the eroded GT, every area (train + val = the OVRSISBench "all" split of
           RSKT-Seg; the bundle drops the border remainder, 23x23 per Potsdam tile, here the last row/column is
           border-aligned, 24x24)
Windows follow the slide-inference grid (rsseg_ext.apis.slide_grid): the last row/column is shifted back to end
at the border, so every tile has the full size and no padding is needed.
"""
import argparse
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

# helpers without the torch/mmseg start-up (see _light.py)
from _light import (ConversionError, convert_tile_pair, open_zip, print_summary, raster_size, run_tasks,  # noqa: E402
                    slide_grid, start_run, tile_names, write_split_list)

CLASSES = ('impervious_surface', 'building', 'low_vegetation', 'tree', 'car', 'clutter')
PALETTE = {(0, 0, 0): 0, (255, 255, 255): 1, (0, 0, 255): 2, (0, 255, 255): 3, (0, 255, 0): 4, (255, 255, 0): 5,
           (255, 0, 0): 6}
PRESETS = dict(
    authors=dict(tile=1024, train_stride=512, test_stride=1024, train_gt='full', test_gt='eroded'),
    mmseg=dict(tile=512, train_stride=256, test_stride=256, train_gt='eroded', test_gt='eroded'),
    ovrsis=dict(tile=256, train_stride=256, test_stride=256, train_gt='eroded', test_gt='eroded'))


class ISPRSSpec:
    """What differs between Potsdam and Vaihingen: archive names, member patterns, the split."""
    name: str
    url: str
    image_zip: str
    gt_zips: Dict[str, str]           # 'full' / 'eroded' -> archive name
    image_re: str                     # regex on member basenames, group(1) = area id
    gt_res: Dict[str, str]            # 'full' / 'eroded' -> regex, group(1) = area id
    splits: Dict[str, List[str]]      # 'train' / 'val' -> area ids
    bands: Optional[Tuple[int, ...]] = None


def _index_members(zip_path: str, pattern: str, spec: ISPRSSpec) -> Dict[str, str]:
    zf = open_zip(zip_path, spec.name, spec.url)
    rx = re.compile(pattern)
    found = {}
    for m in zf.namelist():
        mt = rx.search(osp.basename(m))
        if mt:
            found[mt.group(1)] = m
    zf.close()
    if not found:
        raise ConversionError(f'{zip_path} has no member matching {pattern!r}: it is not the official '
                              f'{spec.name} archive {osp.basename(zip_path)} (download it from {spec.url})')
    return found


def collect(spec: ISPRSSpec, raw_dir: str, out_dir: str, opts: dict, nproc: int = 1,
            areas: Optional[List[str]] = None) -> dict:
    img_zip = osp.join(raw_dir, spec.image_zip)
    if areas:
        unknown = sorted(set(areas) - {a for v in spec.splits.values() for a in v})
        if unknown:
            raise ConversionError(f'unknown {spec.name} area(s) {unknown}; known: {spec.splits}')
    splits = {k: [a for a in v if not areas or a in areas] for k, v in spec.splits.items()}
    # fewer source tiles than workers (a subset, a benchmark): one process, tiles encoded by nproc threads
    n_src = sum(len(v) for v in splits.values())
    threads = nproc if n_src < nproc else 1
    images = _index_members(img_zip, spec.image_re, spec)
    gts = {}
    for kind in {opts['train_gt'], opts['test_gt']}:
        gts[kind] = (osp.join(raw_dir, spec.gt_zips[kind]),
                     _index_members(osp.join(raw_dir, spec.gt_zips[kind]), spec.gt_res[kind], spec))
    tasks, names, expected = [], {}, {}
    for split, split_areas in splits.items():
        kind = opts['train_gt'] if split == 'train' else opts['test_gt']
        stride = opts['train_stride'] if split == 'train' else opts['test_stride']
        gt_zip, gt_members = gts[kind]
        for area in split_areas:
            if area not in images:
                raise ConversionError(f'{img_zip} has no image for area {area}; the archive is incomplete '
                                      f'(download it again from {spec.url})')
            if area not in gt_members:
                raise ConversionError(f'{gt_zip} has no {kind} label for area {area}; the archive is incomplete '
                                      f'(download it again from {spec.url})')
            img_src = f'zip://{img_zip}!{images[area]}'
            lab_src = f'zip://{gt_zip}!{gt_members[area]}'
            h, w = raster_size(img_src, img_src)
            boxes = slide_grid(h, w, opts['tile'], stride)
            tiles = tile_names(area, boxes)
            out_img = osp.join(out_dir, 'img_dir', split)
            out_ann = osp.join(out_dir, 'ann_dir', split)
            outputs = [osp.join(d, f'{t}.png') for t in tiles for d in (out_img, out_ann)]
            tasks.append((convert_tile_pair,
                          (split, img_src, lab_src, PALETTE, boxes, out_img, out_ann, area, spec.bands, threads),
                          outputs, len(boxes)))
            names.setdefault(split, []).extend(tiles)
            expected[split] = expected.get(split, 0) + len(boxes)
    return dict(tasks=tasks, names=names, expected=expected, processes=1 if threads > 1 else nproc)


def convert(spec: ISPRSSpec, raw_dir: str, out_dir: str, nproc: int = 1, areas: Optional[List[str]] = None,
            **opts) -> Tuple[dict, dict]:
    opts = {**PRESETS[opts.pop('preset', 'authors')], **{k: v for k, v in opts.items() if v is not None}}
    start_run(out_dir)
    job = collect(spec, raw_dir, out_dir, opts, nproc, areas)
    counts = run_tasks(job['tasks'], nproc=job['processes'], desc=spec.name)
    for split, tiles in job['names'].items():
        write_split_list(osp.join(out_dir, 'splits', f'{split}.txt'), tiles)
    return counts, job['expected']


def main(spec: ISPRSSpec, default_out: str) -> None:
    parser = argparse.ArgumentParser(description=sys.modules['__main__'].__doc__ + '\n' + __doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('raw_dir', help='folder with the official zip archives as downloaded')
    parser.add_argument('-o', '--out-dir', default=default_out)
    parser.add_argument('--nproc', type=int, default=1)
    parser.add_argument('--preset', choices=sorted(PRESETS), default='authors')
    parser.add_argument('--tile', type=int)
    parser.add_argument('--train-stride', type=int)
    parser.add_argument('--test-stride', type=int)
    parser.add_argument('--train-gt', choices=['full', 'eroded'])
    parser.add_argument('--test-gt', choices=['full', 'eroded'])
    parser.add_argument('--areas', nargs='+', help='convert only these areas/tiles (e.g. 2_10 or 1 3 5)')
    args = parser.parse_args()
    try:
        counts, expected = convert(spec, args.raw_dir, args.out_dir, args.nproc, areas=args.areas,
                                   preset=args.preset,
                                   tile=args.tile, train_stride=args.train_stride, test_stride=args.test_stride,
                                   train_gt=args.train_gt, test_gt=args.test_gt)
    except ConversionError as e:
        sys.exit(f'{spec.name.lower()}: {e}')
    n_areas = {k: len([a for a in v if not args.areas or a in args.areas]) for k, v in spec.splits.items()}
    print(f'source tiles: {n_areas} (official split: {dict((k, len(v)) for k, v in spec.splits.items())})')
    print_summary(counts, expected, args.out_dir)

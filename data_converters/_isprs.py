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
Inputs (one or more, mixed): the official archives, the folder holding them, or the tree they extract to. Each
member's role comes from its product folder AND its file name (Potsdam ``2_Ortho_RGB/..._RGB.tif``, Vaihingen
``top/top_mosaic_09cm_area<N>.tif``), never from the basename alone: Vaihingen's ``gts_for_participants/`` and the
complete ground truth hold label images under the very same basenames as ``top/``. A member that matches two roles,
or two members for one role (an archive next to its extracted copy), is an error naming both. A partial download
converts the areas whose image and label are there and lists the official areas that are missing; only nothing
usable is an error. Label files of non-official areas (Vaihingen's eroded archive holds area 9, which has no
image; mmseg's converter drops it too) are skipped silently.

Windows follow the slide-inference grid (rsseg_ext.apis.slide_grid): the last row/column is shifted back to end
at the border, so every tile has the full size and no padding is needed.
"""
import argparse
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Sequence, Tuple, Union

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

# helpers without the torch/mmseg start-up (see _common.py)
from _common import (ConversionError, convert_tile_pair, print_summary, raster_size, run_tasks,  # noqa: E402
                    slide_grid, start_run, tile_names, write_split_list)
from _sources import Member, assign, list_members, raster_src, require_some, warn_missing  # noqa: E402

CLASSES = ('impervious_surface', 'building', 'low_vegetation', 'tree', 'car', 'clutter')
PALETTE = {(0, 0, 0): 0, (255, 255, 255): 1, (0, 0, 255): 2, (0, 255, 255): 3, (0, 255, 0): 4, (255, 255, 0): 5,
           (255, 0, 0): 6}
# Two official Potsdam labels are not exactly colour-coded: top_potsdam_4_12_label.tif is a lossy re-encode (about
# 25 000 distinct colours), top_potsdam_6_7_label.tif codes cars (252, 255, 0). Public notes of a project decoding
# all 71 complete ISPRS label tiles measured no channel value within 40 of mid-grey, so channels are snapped to
# 0/255 when at least 128 - SNAP_MARGIN away from it; anything closer (an image taken for a label) is an error.
SNAP_MARGIN = 32
PRESETS = dict(
    authors=dict(tile=1024, train_stride=512, test_stride=1024, train_gt='full', test_gt='eroded'),
    mmseg=dict(tile=512, train_stride=256, test_stride=256, train_gt='eroded', test_gt='eroded'),
    ovrsis=dict(tile=256, train_stride=256, test_stride=256, train_gt='eroded', test_gt='eroded'))


def in_folder(folder: str, basename: str) -> 're.Pattern':
    """``<folder>/<basename>`` anywhere in a logical path; the folder may be doubled (``X.zip`` holding ``X/``, or
    ``X.zip`` extracted into ``X/``)."""
    return re.compile(rf'(?:^|/){folder}/(?:{folder}/)?{basename}$')


def at_root_or_in(folder: str, basename: str) -> 're.Pattern':
    """``<basename>`` at the top of an input (an archive extracted in place, torchgeo's layout) or in ``folder``."""
    return re.compile(rf'^(?:(?:[^/]+/)*{folder}/(?:{folder}/)?)?{basename}$')


class ISPRSSpec:
    """What differs between Potsdam and Vaihingen: product patterns, the split."""
    name: str
    url: str
    archives: Tuple[str, ...]                 # the official archives this converter reads (for messages)
    products: Dict[str, str]                  # --product choice -> its role in ``roles``
    default_product: str
    roles: Dict[str, 're.Pattern']            # every recognised product (group 1 = area id), distractors too
    gt_roles: Dict[str, Tuple[str, ...]]      # 'full' / 'eroded' -> roles holding it, in order of preference
    splits: Dict[str, List[str]]              # 'train' / 'val' -> area ids
    bands: Optional[Tuple[int, ...]] = None
    area_label: str = '{}'                    # how messages name an area (Vaihingen: area<N>)


def index_areas(spec: ISPRSSpec, raw: Union[str, Sequence[str]], product: str) -> Dict[str, Dict[str, Member]]:
    """``{role: {area: member}}`` over every input (archives, folders, extracted trees)."""
    raws = [raw] if isinstance(raw, str) else list(raw)
    members = [m for r in raws for m in list_members(r, spec.name, spec.url)]
    nested = [m.where for m in members if m.zip and m.name.lower().endswith('.zip')]
    if nested:
        raise ConversionError(f'{nested[0]} is an archive inside an archive (the {spec.name} download packs the '
                              'product archives into one): extract the outer archive once and pass the folder it '
                              'extracts to')
    roles = assign(members, spec.roles, exclusive=True)
    taken = {m for found in roles.values() for m in found.values()}
    stray = [m.where for m in members if m not in taken and m.path.lower().endswith(('.tif', '.tiff'))]
    warn_missing(spec.name, 'files', 0, None, orphans={
        'rasters outside the official product folders (keep the archive names, or extract each archive into a '
        'folder named like it or in place)': stray})
    return roles


def collect(spec: ISPRSSpec, raw: Union[str, Sequence[str]], out_dir: str, opts: dict, nproc: int = 1,
            areas: Optional[List[str]] = None) -> dict:
    official = [a for v in spec.splits.values() for a in v]
    if areas:
        unknown = sorted(set(areas) - set(official))
        if unknown:
            raise ConversionError(f'unknown {spec.name} area(s) {unknown}; known: {spec.splits}')
    product = opts.get('product') or spec.default_product
    if product not in spec.products:
        raise ConversionError(f'unknown {spec.name} image product {product!r}; choose from {sorted(spec.products)}')
    roles = index_areas(spec, raw, product)
    images = roles[spec.products[product]]
    wanted = {k: [a for a in v if not areas or a in areas] for k, v in spec.splits.items()}
    # fewer source tiles than workers (a subset, a benchmark): one process, tiles encoded by nproc threads
    n_src = sum(len(v) for v in wanted.values())
    threads = nproc if n_src < nproc else 1
    tasks, names, expected, found, missing = [], {}, {}, {}, []
    for split, split_areas in wanted.items():
        kind = opts['train_gt'] if split == 'train' else opts['test_gt']
        stride = opts['train_stride'] if split == 'train' else opts['test_stride']
        for area in split_areas:
            label = next((roles[r][area] for r in spec.gt_roles[kind] if area in roles[r]), None)
            if area not in images or label is None:
                lacks = [w for w, ok in ((f'{product} image', area in images), (f'{kind} label', label)) if not ok]
                missing.append(f'{spec.area_label.format(area)} ({" and ".join(lacks)})')
                continue
            img_src, lab_src = raster_src(images[area].src), raster_src(label.src)
            h, w = raster_size(img_src, images[area].where)
            boxes = slide_grid(h, w, opts['tile'], stride)
            tiles = tile_names(area, boxes)
            out_img = osp.join(out_dir, 'img_dir', split)
            out_ann = osp.join(out_dir, 'ann_dir', split)
            outputs = [osp.join(d, f'{t}.png') for t in tiles for d in (out_img, out_ann)]
            tasks.append((convert_tile_pair,
                          (split, img_src, lab_src, PALETTE, boxes, out_img, out_ann, area, spec.bands, threads,
                           SNAP_MARGIN),
                          outputs, len(boxes)))
            names.setdefault(split, []).extend(tiles)
            expected[split] = expected.get(split, 0) + len(boxes)
            found[split] = found.get(split, 0) + 1
    n_found = sum(found.values())
    inputs = raw if isinstance(raw, str) else ', '.join(raw)
    require_some(n_found, spec.name, 'area (image + label)', inputs,
                 f'found {len(images)} {product} image(s) and no matching label, or no image at all. Pass the '
                 f'official archives ({", ".join(spec.archives)}), the folder holding them or the folder they '
                 f'extract to; download them from {spec.url}')
    warn_missing(spec.name, 'areas', n_found, n_src, missing=missing)
    return dict(tasks=tasks, names=names, expected=expected, processes=1 if threads > 1 else nproc,
                areas=found, official={k: len(v) for k, v in wanted.items()})


def convert(spec: ISPRSSpec, raw: Union[str, Sequence[str]], out_dir: str, nproc: int = 1,
            areas: Optional[List[str]] = None, **opts) -> Tuple[dict, dict]:
    """Convert; returns (tiles per split, tiles expected from the areas found) and prints the areas converted
    against the official split."""
    opts = {**PRESETS[opts.pop('preset', 'authors')], **{k: v for k, v in opts.items() if v is not None}}
    start_run(out_dir)
    job = collect(spec, raw, out_dir, opts, nproc, areas)
    counts = run_tasks(job['tasks'], nproc=job['processes'], desc=spec.name)
    for split, tiles in job['names'].items():
        write_split_list(osp.join(out_dir, 'splits', f'{split}.txt'), tiles)
    found, wanted = job['areas'], job['official']
    print('areas converted: ' + ', '.join(f'{k} {found.get(k, 0)} of {n}' for k, n in wanted.items()) +
          f' (official split: {", ".join(f"{k} {len(v)}" for k, v in spec.splits.items())})')
    return counts, job['expected']


def main(spec: ISPRSSpec, default_out: str) -> None:
    parser = argparse.ArgumentParser(description=sys.modules['__main__'].__doc__ + '\n' + __doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('raw', nargs='+', help='the official archive(s), the folder holding them, or the folder '
                                               'they extract to')
    parser.add_argument('-o', '--out-dir', default=default_out)
    parser.add_argument('--nproc', type=int, default=1)
    parser.add_argument('--preset', choices=sorted(PRESETS), default='authors')
    parser.add_argument('--product', choices=sorted(spec.products), default=spec.default_product,
                        help=f'image product to tile (default {spec.default_product})')
    parser.add_argument('--tile', type=int)
    parser.add_argument('--train-stride', type=int)
    parser.add_argument('--test-stride', type=int)
    parser.add_argument('--train-gt', choices=['full', 'eroded'])
    parser.add_argument('--test-gt', choices=['full', 'eroded'])
    parser.add_argument('--areas', nargs='+', help='convert only these areas/tiles (e.g. 2_10 or 1 3 5)')
    args = parser.parse_args()
    try:
        counts, expected = convert(spec, args.raw, args.out_dir, args.nproc, areas=args.areas,
                                   preset=args.preset, product=args.product,
                                   tile=args.tile, train_stride=args.train_stride, test_stride=args.test_stride,
                                   train_gt=args.train_gt, test_gt=args.test_gt)
    except ConversionError as e:
        sys.exit(f'{spec.name.lower()}: {e}')
    ok = print_summary(counts, expected, args.out_dir)
    sys.exit(0 if ok else 1)

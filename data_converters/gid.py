"""Convert the official GID-5 archive (Gaofen Image Dataset, large-scale classification set) to tiled mmseg layout.

    python data_converters/gid.py RAW_DIR -o data/gid [--tile 1024 --stride 1024] [--seed 0] [--nproc 4]

RAW_DIR is "Large-scale Classification_5classes" from https://x-ytong.github.io/project/GID.html in any of three
forms: the zip archive(s) as downloaded, the folder holding them, or the extracted folder tree. Images are
``image_RGB/<scene>.tif``, labels ``label_5classes/<scene>_label.tif``, matched by folder: ``image_NirRGB/<scene>.tif``
(the 4-band product, same name) is never read; LoVLANet uses RGB. 150 GF-2 scenes of about 7200x6800.
A partial download converts the complete scenes there and lists on stderr what is missing (a scene without its
label, a label without its image); only nothing usable is an error.
Labels are colour TIFFs: black = unlabeled, built-up (255,0,0), farmland (0,255,0), forest (0,255,255), meadow
(255,255,0), water (0,0,255); they are written as 0 = unlabeled, 1..5 = classes
(GIDDataset, reduce_zero_label=True). A colour outside this palette is an error naming the colour and pixel.

Split: the paper's 120 train / 30 val scenes with 6 of the val scenes as test; the scene lists are not
published, so the split is deterministic: scene names sorted, shuffled with --seed (default 0), the first 120
train, the next 24 val, the last 6 test. The lists are written to splits/scenes_{train,val,test}.txt; the tile lists
to splits/{train,val,test}.txt (names) and splits/all.txt (``<split>/<name>``).
Tiles: --tile at --stride, the last row/column shifted back to the border (1024/1024: 8x7 = 56 per scene,
6,720 / 1,344 / 336 tiles). Tile names: <scene>_<y>_<x>.png.

GID-15 (--classes 15): the "Fine Land-cover Classification_15classes" archive (``image_RGB/`` +
``label_15classes/<scene>_label.tif``), 15 classes + unlabeled with the colours of the GID page (see
GIDDataset's GID15_METAINFO), same split rule (scaled to the number of scenes) and tiling.
"""
import argparse
import os.path as osp
import random
import re
import sys
from typing import Dict, List, Tuple

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

# helpers without the torch/mmseg start-up (see _common.py)
from _common import (ConversionError, convert_tile_pair, print_summary, raster_size, run_tasks,  # noqa: E402
                    slide_grid, start_run, tile_names, write_split_list)
from _sources import Member, assign, list_members, raster_src, require_some, warn_missing  # noqa: E402

URL = 'https://x-ytong.github.io/project/GID.html'
PALETTE = {(0, 0, 0): 0, (255, 0, 0): 1, (0, 255, 0): 2, (0, 255, 255): 3, (255, 255, 0): 4, (0, 0, 255): 5}
# GID-15: 0 = unlabeled, then GIDDataset's GID15_METAINFO order
PALETTE15 = {c: i for i, c in enumerate([
    (0, 0, 0), (200, 0, 0), (250, 0, 150), (200, 150, 150), (250, 150, 150), (0, 200, 0), (150, 250, 0),
    (150, 200, 150), (200, 0, 200), (150, 0, 250), (150, 150, 250), (250, 200, 0), (200, 200, 0), (0, 0, 200),
    (0, 150, 200), (0, 200, 250)])}
IMAGE_RE = re.compile(r'(?:^|/)image_RGB/([^/]+)\.tiff?$', re.IGNORECASE)
LABEL_RES = {5: re.compile(r'(?:^|/)label_5classes/([^/]+)_label\.tiff?$', re.IGNORECASE),
             15: re.compile(r'(?:^|/)label_15classes/([^/]+)_label\.tiff?$', re.IGNORECASE)}
SPLIT_SIZES = dict(train=120, val=24, test=6)
ARCHIVE_NAMES = {5: 'Large-scale Classification_5classes', 15: 'Fine Land-cover Classification_15classes'}
EXPECTED_SCENES = 150


def index_scenes(raw: str, classes: int = 5) -> Dict[str, Tuple[Member, Member]]:
    """scene -> (image_RGB member, label member) for every complete scene of ``raw`` (archive(s), the folder
    holding them, or the extracted tree); missing partners are reported and skipped."""
    members = list_members(raw, 'GID', URL)
    roles = assign(members, {'img': IMAGE_RE, 'lab': LABEL_RES[classes]}, exclusive=True)
    imgs, labs = roles['img'], roles['lab']
    scenes = {s: (imgs[s], labs[s]) for s in sorted(set(imgs) & set(labs))}
    archive = ARCHIVE_NAMES[classes]
    require_some(len(scenes), f'GID-{classes}', 'scenes', raw,
                 f'no image_RGB/<scene>.tif with its label_{classes}classes/<scene>_label.tif (found {len(imgs)} '
                 f'image(s), {len(labs)} label(s)). Download "{archive}" from {URL} and pass the archive(s), '
                 'their folder or the extracted tree.')
    warn_missing(f'GID-{classes}', 'scenes', len(scenes), EXPECTED_SCENES if classes == 5 else None, orphans={
        f'image_RGB without label_{classes}classes': [imgs[s].where for s in sorted(set(imgs) - set(labs))],
        'labels without image_RGB': [labs[s].where for s in sorted(set(labs) - set(imgs))]})
    return scenes


def split_scenes(scenes: List[str], seed: int) -> Dict[str, List[str]]:
    """Deterministic 120/24/6 split (scaled down proportionally for a subset, e.g. in tests)."""
    order = sorted(scenes)
    random.Random(seed).shuffle(order)
    n = len(order)
    n_test = max(1, round(n * SPLIT_SIZES['test'] / EXPECTED_SCENES)) if n >= 3 else 0
    n_val = max(n_test + 1, round(n * (SPLIT_SIZES['val'] + SPLIT_SIZES['test']) / EXPECTED_SCENES)) - n_test \
        if n >= 2 else 0
    n_train = n - n_val - n_test
    return dict(train=sorted(order[:n_train]), val=sorted(order[n_train:n_train + n_val]),
                test=sorted(order[n_train + n_val:]))


def convert(raw_dir: str, out_dir: str, nproc: int = 1, tile: int = 1024, stride: int = 1024,
            seed: int = 0, classes: int = 5) -> Tuple[Dict[str, int], Dict[str, int]]:
    if classes not in LABEL_RES:
        raise ConversionError(f'--classes must be 5 or 15, got {classes}')
    if tile <= 0 or stride <= 0:
        raise ConversionError(f'--tile and --stride must be positive, got {tile} / {stride}')
    start_run(out_dir)
    scenes = index_scenes(raw_dir, classes)
    palette = PALETTE if classes == 5 else PALETTE15
    splits = split_scenes(list(scenes), seed)
    threads = nproc if len(scenes) < nproc else 1
    tasks, names, expected = [], {}, {}
    for split, members in splits.items():
        out_img, out_ann = osp.join(out_dir, 'img_dir', split), osp.join(out_dir, 'ann_dir', split)
        for scene in members:
            img_m, lab_m = scenes[scene]
            img_src, lab_src = raster_src(img_m.src), raster_src(lab_m.src)
            h, w = raster_size(img_src, img_m.where)
            lh, lw = raster_size(lab_src, lab_m.where)
            if (lh, lw) != (h, w):
                raise ConversionError(f'image {img_m.where} is {w}x{h} but its label {lab_m.where} is {lw}x{lh}')
            boxes = slide_grid(h, w, tile, stride)
            tiles = tile_names(scene, boxes)
            outputs = [osp.join(d, f'{t}.png') for t in tiles for d in (out_img, out_ann)]
            tasks.append((convert_tile_pair, (split, img_src, lab_src, palette, boxes, out_img, out_ann, scene,
                                              (1, 2, 3), threads), outputs, len(boxes)))
            names.setdefault(split, []).extend(tiles)
            expected[split] = expected.get(split, 0) + len(boxes)
        write_split_list(osp.join(out_dir, 'splits', f'scenes_{split}.txt'), members)
    counts = run_tasks(tasks, nproc=1 if threads > 1 else nproc, desc='GID')
    for split, tiles in names.items():
        write_split_list(osp.join(out_dir, 'splits', f'{split}.txt'), tiles)
    write_split_list(osp.join(out_dir, 'splits', 'all.txt'), [f'{s}/{t}' for s, tiles in names.items() for t in tiles])
    counts['scenes'] = len(scenes)
    if classes == 5:  # GID-15's scene count depends on the release (10 fine-annotated scenes in the first one)
        expected['scenes'] = EXPECTED_SCENES
    return counts, expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('raw_dir', help='the GID zip archive, the folder holding the archive(s), or the extracted '
                                        'tree')
    parser.add_argument('-o', '--out-dir', default='data/gid')
    parser.add_argument('--nproc', type=int, default=1)
    parser.add_argument('--tile', type=int, default=1024)
    parser.add_argument('--stride', type=int, default=1024)
    parser.add_argument('--seed', type=int, default=0, help='seed of the scene split (default 0)')
    parser.add_argument('--classes', type=int, choices=[5, 15], default=5,
                        help='5: GID-5 (default); 15: GID-15, label_15classes/ of the fine land-cover archive '
                             '(GIDDataset(variant="gid15"))')
    args = parser.parse_args()
    try:
        counts, expected = convert(args.raw_dir, args.out_dir, args.nproc, args.tile, args.stride, args.seed,
                                   args.classes)
    except ConversionError as e:
        sys.exit(f'gid: {e}')
    print_summary(counts, expected, args.out_dir)
    print('(expected tiles: those of the scenes found; scenes: the official 150 of GID-5)')


if __name__ == '__main__':
    main()

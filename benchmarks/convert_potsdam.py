"""Our Potsdam converter against mmseg's, on one synthetic Potsdam-like 6000x6000 tile pair, same tiling.

    python benchmarks/convert_potsdam.py [--size 6000] [--tile 512] [--nproc 2] [--repeat 3] [--work DIR]

Both get the same archives (2_Ortho_RGB.zip + 5_Labels_all_noBoundary.zip holding tile 2_10). mmseg's converter
(shipped in the mmsegmentation wheel under mmseg/.mim/tools/dataset_converters/potsdam.py) runs with
--clip_size T --stride_size T (with stride = tile its tile-origin quirk does not matter, so both cut the same
windows); ours with --tile T --train-stride T --train-gt eroded --areas 2_10 --nproc N. The outputs are compared
pixel by pixel (both code labels as 0 = boundary, 1..6 = classes). Prints both wall times (the best of --repeat
runs each, alternating, so that a busy machine penalises neither side more); nothing is asserted.

Generating the 6000x6000 synthetic scene takes minutes; with --work the archives are kept there and reused by
later runs of the same --size.
"""
import argparse
import os
import resource
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from typing import Tuple

import cv2
import numpy as np

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

ISPRS_RGB = np.array([[255, 255, 255], [0, 0, 255], [0, 255, 255], [0, 255, 0], [255, 255, 0], [255, 0, 0]],
                     np.uint8)


def make_archives(raw: str, size: int) -> None:
    import rasterio

    from rsseg_ext.utils.synthetic import generate_scene
    img, lab = generate_scene(size, size, seed=7, scale=size / 1024)
    # synthetic classes -> ISPRS colours (farmland->low veg, building, road->impervious, water->clutter,
    # forest->tree, bare->impervious), plus a black eroded boundary
    to_isprs = np.array([2, 1, 0, 5, 3, 0], np.uint8)
    idx = to_isprs[lab]
    rgb = ISPRS_RGB[idx]
    edge = cv2.morphologyEx(idx, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    rgb[edge] = 0
    for zname, member, arr in [('2_Ortho_RGB.zip', '2_Ortho_RGB/top_potsdam_2_10_RGB.tif', img[..., :3]),
                               ('5_Labels_all_noBoundary.zip', 'top_potsdam_2_10_label_noBoundary.tif', rgb)]:
        with tempfile.NamedTemporaryFile(suffix='.tif') as f:
            with rasterio.open(f.name, 'w', driver='GTiff', height=size, width=size, count=3, dtype='uint8') as d:
                d.write(arr.transpose(2, 0, 1))
            with zipfile.ZipFile(osp.join(raw, zname), 'w', zipfile.ZIP_DEFLATED) as zf:
                zf.write(f.name, member)


def timed(cmd) -> Tuple[float, float]:
    """Run ``cmd``; returns (wall seconds, CPU seconds user+sys of the process and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        sys.exit(f'failed: {" ".join(cmd)}\n{res.stderr[-3000:]}')
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compare(ours: str, theirs: str) -> str:
    n, bad = 0, []
    for name in sorted(os.listdir(osp.join(theirs, 'ann_dir', 'train'))):
        i, j, x1, y1, x2, y2 = name[:-4].split('_')
        ours_name = f'{i}_{j}_{y1}_{x1}.png'
        for sub in ('img_dir', 'ann_dir'):
            a = cv2.imread(osp.join(ours, sub, 'train', ours_name), cv2.IMREAD_UNCHANGED)
            b = cv2.imread(osp.join(theirs, sub, 'train', name), cv2.IMREAD_UNCHANGED)
            if a is None or b is None or a.shape != b.shape or not np.array_equal(a, b):
                bad.append(f'{sub}/{name}')
        n += 1
    ours_n = len(os.listdir(osp.join(ours, 'ann_dir', 'train')))
    return (f'{n} tiles compared (ours wrote {ours_n}): '
            + ('identical' if not bad and ours_n == n else f'{len(bad)} differ, e.g. {bad[:3]}'))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--size', type=int, default=6000)
    parser.add_argument('--tile', type=int, default=512)
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=1, help='runs per converter; the best time is shown')
    parser.add_argument('--work', default=None, help='keep the archives here and reuse them next time')
    args = parser.parse_args()
    import mmseg
    mmseg_tool = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'dataset_converters', 'potsdam.py')
    work = args.work or tempfile.mkdtemp(prefix='potsdam_bench_')
    raw = osp.join(work, 'raw')
    marker = osp.join(raw, f'.complete-{args.size}')
    if not osp.isfile(marker):  # the scene takes minutes to generate: reuse the archives of an earlier run
        shutil.rmtree(raw, ignore_errors=True)
        os.makedirs(raw)
        make_archives(raw, args.size)
        open(marker, 'w').close()
    runs_theirs, runs_ours = [], []
    for _ in range(max(args.repeat, 1)):
        for sub in ('mmseg', 'ours'):  # fresh outputs: ours would otherwise skip the finished tiles
            shutil.rmtree(osp.join(work, sub), ignore_errors=True)
        runs_theirs.append(timed([sys.executable, mmseg_tool, raw, '-o', osp.join(work, 'mmseg'), '--clip_size',
                                  str(args.tile), '--stride_size', str(args.tile), '--tmp_dir', work]))
        runs_ours.append(timed([sys.executable, 'data_converters/potsdam.py', raw, '-o', osp.join(work, 'ours'),
                                '--tile', str(args.tile), '--train-stride', str(args.tile), '--train-gt', 'eroded',
                                '--test-gt', 'eroded', '--areas', '2_10', '--nproc', str(args.nproc)]))
    # best wall and best CPU time of each side
    t_theirs = [min(r[k] for r in runs_theirs) for k in (0, 1)]
    t_ours = [min(r[k] for r in runs_ours) for k in (0, 1)]
    print(f'tile pair {args.size}x{args.size}, {args.tile} tiles, best of {max(args.repeat, 1)} run(s)')
    # CPU time (user+sys) does not depend on how busy the machine is; the wall-time ratio does
    print(f'  mmseg tools/dataset_converters/potsdam.py : {t_theirs[0]:7.2f} s wall, {t_theirs[1]:6.2f} s CPU')
    print(f'  data_converters/potsdam.py --nproc {args.nproc}     : {t_ours[0]:7.2f} s wall, {t_ours[1]:6.2f} s CPU  '
          f'({t_theirs[0] / t_ours[0]:.2f}x wall, {t_theirs[1] / t_ours[1]:.2f}x CPU)')
    print('  ' + compare(osp.join(work, 'ours'), osp.join(work, 'mmseg')))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()

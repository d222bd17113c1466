"""The `make demo` job: synthetic data -> train -> evaluate -> whole-scene GeoTIFF inference, all on CPU.

    python tools/demo.py [--out demo_outputs] [--iters 300] [--device cpu]

1. writes a small synthetic land-cover dataset in mmseg layout and a 4-band (R, G, B, NIR) GeoTIFF scene;
2. trains configs/demo/d2ls_convnext-atto_synthetic.py (D2LS head, tiny ConvNeXt) with the stock tools/train.py;
3. evaluates the checkpoint with tools/test.py (per-class IoU table);
4. segments the GeoTIFF with tools/infer_scene.py (bands 1,2,3), writing a georeferenced prediction GeoTIFF and a
   colour overlay PNG.
Each stage runs the same command a user would type; the commands are printed.
"""
import argparse
import os
import os.path as osp
import shlex
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

CONFIG = 'configs/demo/d2ls_convnext-atto_synthetic.py'


def run(cmd: list, title: str) -> None:
    print(f'\n==> {title}\n$ {" ".join(shlex.quote(c) for c in cmd)}', flush=True)
    t0 = time.time()
    res = subprocess.run(cmd, cwd=ROOT)
    if res.returncode != 0:
        sys.exit(f'[demo] step "{title}" failed (exit {res.returncode}); see the output above.')
    print(f'[demo] {title}: {time.time() - t0:.0f} s', flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default='demo_outputs', help='output folder (relative to the repo root)')
    parser.add_argument('--iters', type=int, default=300, help='training iterations')
    parser.add_argument('--device', default='cpu', help='device for scene inference')
    args = parser.parse_args()

    from rsseg_ext.utils.synthetic import make_synthetic_dataset, make_synthetic_geotiff

    out = osp.abspath(osp.join(ROOT, args.out))
    data_root = osp.join(out, 'data', 'synthetic')
    work_dir = osp.join(out, 'work_dir')
    scene = osp.join(out, 'scene.tif')
    pred = osp.join(out, 'scene_pred.tif')
    overlay = osp.join(out, 'scene_overlay.png')
    t_start = time.time()

    print('==> 1/4 synthetic data', flush=True)
    counts = make_synthetic_dataset(data_root, num_scenes=dict(train=4, val=1), scene_size=512, tile=128)
    make_synthetic_geotiff(scene, height=1024, width=1536, seed=2024)
    print(f'[demo] tiles per split: {counts}; scene: {scene} (1024x1536, 4 bands, EPSG:32633)')

    py = sys.executable
    data_opts = [f'{k}.dataset.data_root={data_root}'
                 for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    iters = args.iters
    sched_opts = [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
                  f'default_hooks.checkpoint.interval={iters}', f'param_scheduler.0.end={iters}']
    run([py, 'tools/train.py', CONFIG, '--work-dir', work_dir, '--cfg-options', *data_opts, *sched_opts],
        '2/4 train (stock tools/train.py, CPU)')

    ckpt = osp.join(work_dir, f'iter_{iters}.pth')
    run([py, 'tools/test.py', CONFIG, ckpt, '--work-dir', work_dir, '--cfg-options', *data_opts],
        '3/4 evaluate (tools/test.py; per-class table above)')

    run([py, 'tools/infer_scene.py', CONFIG, ckpt, scene, pred, '--bands', '1,2,3', '--window', '256',
         '--overlap', '64', '--batch', '4', '--device', args.device, '--overlay', overlay, '--force'],
        '4/4 whole-scene GeoTIFF inference (tools/infer_scene.py)')

    print(f'\n[demo] done in {time.time() - t_start:.0f} s. Outputs:')
    for name, path in [('synthetic dataset (mmseg layout)', data_root), ('training logs + checkpoint', work_dir),
                       ('checkpoint', ckpt), ('input scene GeoTIFF', scene),
                       ('prediction GeoTIFF (same CRS/transform)', pred), ('colour overlay PNG', overlay)]:
        print(f'  {name:42s} {path}{"" if osp.exists(path) else "  (MISSING)"}')


if __name__ == '__main__':
    main()

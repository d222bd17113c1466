"""Whole-scene inference: mmseg's stock slide path vs rsseg_ext's scene engine (exact fp32 and --precision bf16).

The same model (ResNetV1c-18 + FCNHead, 7 classes, random init under a fixed seed) on the same synthetic 3-band
uint8 GeoTIFF, each run in its own subprocess so that peak RSS is clean:

* stock: read the whole scene with rasterio, ``data_preprocessor`` + ``EncoderDecoder.slide_inference``
  (crop = window, stride = window - overlap), argmax, write the label GeoTIFF;
* ours fp32: ``SceneInferencer(blend='mean').infer_file`` (windowed reads, strip blending, background reader and
  writer threads) -- logits equal to the stock path (checked on a crop: max |diff| printed);
* ours bf16: the same with ``precision='bf16'`` (autocast + channels_last): close to fp32, never equal -- its
  argmax agreement with fp32 (whole scene) and max logit difference (crop) are printed.

    python benchmarks/scene_inference.py [--sizes 2048 4096] [--window 512 --overlap 128] [--batch 1]
        [--modes stock fp32 bf16] [--model r18|tiny] [--threads N] [--device cpu|cuda] [--workdir DIR]

Prints figures; asserts nothing. Big sizes need time and (for the stock path) memory: 16384^2 holds ~7 GB of
image + logits in the stock path.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the checkout, if not pip-installed

from rsseg_ext.utils.memory import peak_rss_mb  # noqa: E402

NUM_CLASSES = 7


#: backbone widths: 'r18' = the standard ResNetV1c-18; 'tiny' = the same network at 1/4 width, for scaling runs
#: on big scenes where the engine's memory (not the network's) is what is measured
MODELS_ = dict(r18=dict(stem_channels=64, base_channels=64, head_in=512),
               tiny=dict(stem_channels=16, base_channels=16, head_in=128))


def build_model(window: int, overlap: int, arch: str = 'r18'):
    import torch
    from mmengine.config import ConfigDict
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    import mmseg.models  # noqa: F401
    init_default_scope('mmseg')
    torch.manual_seed(0)
    cfg = ConfigDict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255),
        backbone=dict(type='ResNetV1c', depth=18, out_indices=(3, ), dilations=(1, 1, 1, 1), strides=(1, 2, 2, 2),
                      norm_cfg=dict(type='BN'), contract_dilation=True, stem_channels=MODELS_[arch]['stem_channels'],
                      base_channels=MODELS_[arch]['base_channels']),
        decode_head=dict(type='FCNHead', in_channels=MODELS_[arch]['head_in'], in_index=0, channels=64, num_convs=1,
                         concat_input=False, dropout_ratio=0.0, num_classes=NUM_CLASSES, norm_cfg=dict(type='BN'),
                         align_corners=False, loss_decode=dict(type='CrossEntropyLoss')),
        train_cfg=dict(),
        test_cfg=dict(mode='slide', crop_size=(window, window), stride=(window - overlap, window - overlap)))
    model = MODELS.build(cfg).eval()
    model.dataset_meta = dict(classes=tuple(f'c{i}' for i in range(NUM_CLASSES)))
    return model


def make_scene(path: str, size: int, seed: int = 0):
    """A size x size 3-band uint8 tiled GeoTIFF, written in strips (smooth structure + noise)."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window
    rng = np.random.RandomState(seed)
    with rasterio.open(path, 'w', driver='GTiff', width=size, height=size, count=3, dtype='uint8',
                       crs='EPSG:32633', transform=from_origin(500000, 5400000, 0.5, 0.5), tiled=True,
                       blockxsize=256, blockysize=256, compress='lzw') as dst:
        xx = np.arange(size)[None, :]
        for y0 in range(0, size, 512):
            yy = np.arange(y0, min(y0 + 512, size))[:, None]
            base = np.stack([np.sin(yy / 37.0) * np.cos(xx / 53.0), np.cos(xx / 29.0 + yy / 71.0),
                             np.sin((yy + xx) / 41.0)])
            img = 128 + 90 * base + rng.randint(-25, 25, (3, ) + base.shape[1:])
            dst.write(np.clip(img, 0, 255).astype(np.uint8), window=Window(0, y0, size, base.shape[1]))


def stock_logits(model, img):
    import torch
    bgr = torch.from_numpy(img[::-1].copy())  # mmseg pipelines load BGR; the preprocessor converts to RGB
    with torch.no_grad():
        x = model.data_preprocessor(dict(inputs=[bgr]), False)['inputs']
        metas = [dict(img_shape=img.shape[1:], ori_shape=img.shape[1:], pad_shape=img.shape[1:])]
        return model.slide_inference(x, metas)[0]


def worker(args):
    import warnings
    import numpy as np
    import rasterio
    import torch
    from rsseg_ext.apis import SceneInferencer
    warnings.filterwarnings('ignore')
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = args.device.startswith('cuda')
    model = build_model(args.window, args.overlap, args.model).to(args.device)
    base_rss = peak_rss_mb()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    res = dict(mode=args.worker)
    t0 = time.time()
    if args.worker == 'stock':
        with rasterio.open(args.scene) as src:
            img = src.read([1, 2, 3])
            profile = dict(driver='GTiff', width=src.width, height=src.height, crs=src.crs,
                           transform=src.transform, count=1, dtype='uint8', tiled=True, blockxsize=256,
                           blockysize=256, compress='deflate')
        labels = stock_logits(model, img).argmax(0).to(torch.uint8).numpy()
        with rasterio.open(args.out, 'w', **profile) as dst:
            dst.write(labels[None])
    elif args.worker in ('fp32', 'bf16'):
        inf = SceneInferencer(model, window=args.window, overlap=args.overlap, batch=args.batch, blend='mean',
                              precision=args.worker, progress=False)
        inf.infer_file(args.scene, args.out, force=True)
        res['strip_buffer_mb'] = inf.peak_buffer_bytes / 2**20
    elif args.worker == 'agree':  # logits on a crop: stock vs ours fp32 vs ours bf16
        with rasterio.open(args.scene) as src:
            img = src.read([1, 2, 3], window=rasterio.windows.Window(0, 0, args.agree_size, args.agree_size))
        ref = stock_logits(model, img)
        rgb = img
        fp32 = SceneInferencer(model, window=args.window, overlap=args.overlap, blend='mean',
                               progress=False).infer_array(rgb)
        bf16 = SceneInferencer(model, window=args.window, overlap=args.overlap, blend='mean', precision='bf16',
                               progress=False).infer_array(rgb)
        res.update(fp32_vs_stock_max=float((fp32 - ref).abs().max()),
                   bf16_vs_fp32_max=float((bf16 - fp32).abs().max()),
                   bf16_vs_fp32_argmax=float((bf16.argmax(0) == fp32.argmax(0)).float().mean()),
                   crop=list(img.shape[1:]))
    if cuda:
        torch.cuda.synchronize()
    res['wall_s'] = time.time() - t0
    res['cuda_peak_mb'] = torch.cuda.max_memory_allocated() / 2**20 if cuda else None
    res['peak_rss_mb'] = peak_rss_mb()
    res['base_rss_mb'] = base_rss
    print('RESULT ' + json.dumps(res), flush=True)


def run_worker(args, mode, scene, out):
    cmd = [sys.executable, osp.abspath(__file__), '--worker', mode, '--scene', scene, '--out', out, '--window',
           str(args.window), '--overlap', str(args.overlap), '--batch', str(args.batch), '--agree-size',
           str(args.agree_size), '--model', args.model, '--device', args.device] + (['--threads', str(args.threads)] if args.threads else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith('RESULT ')]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f'{mode} worker failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}')
    return json.loads(lines[-1][7:])


def label_agreement(a: str, b: str) -> float:
    import numpy as np
    import rasterio
    from rasterio.windows import Window
    same = total = 0
    with rasterio.open(a) as da, rasterio.open(b) as db:
        for y0 in range(0, da.height, 1024):
            w = Window(0, y0, da.width, min(1024, da.height - y0))
            la, lb = da.read(1, window=w), db.read(1, window=w)
            same += int((la == lb).sum())
            total += la.size
    return same / total


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--sizes', type=int, nargs='+', default=[2048, 4096], help='scene sides (default 2048 4096)')
    p.add_argument('--window', type=int, default=512)
    p.add_argument('--overlap', type=int, default=128)
    p.add_argument('--batch', type=int, default=1, help='windows per forward in our path (default 1)')
    p.add_argument('--modes', nargs='+', default=['stock', 'fp32', 'bf16'], choices=['stock', 'fp32', 'bf16'])
    p.add_argument('--model', default='r18', choices=sorted(MODELS_),
                   help="'r18' (ResNetV1c-18 + FCN) or 'tiny' (same at 1/4 width: fast scaling runs on big scenes)")
    p.add_argument('--threads', type=int, default=0, help='torch threads (default: torch default)')
    p.add_argument('--device', default='cpu',
                   help="'cpu' (default) or 'cuda' / 'cuda:N': both paths on that device (stock keeps the scene's "
                   'logits there, as mmseg does); GPU peak memory is printed too')
    p.add_argument('--agree-size', type=int, default=1024, help='crop side for the logit comparisons')
    p.add_argument('--workdir', default=None, help='where scenes and outputs go (default: a temp folder)')
    p.add_argument('--worker', default=None, help=argparse.SUPPRESS)
    p.add_argument('--scene', default=None, help=argparse.SUPPRESS)
    p.add_argument('--out', default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)

    import torch
    workdir = args.workdir or tempfile.mkdtemp(prefix='rsseg_scene_bench_')
    os.makedirs(workdir, exist_ok=True)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, cpu bf16 native: '
          f'{__import__("rsseg_ext.apis.scene", fromlist=["x"]).cpu_has_native_bf16()}; '
          f'model ResNetV1c-18 ({args.model}) + FCNHead, {NUM_CLASSES} classes; window {args.window}, overlap {args.overlap}, '
          f'batch {args.batch}; device {args.device}; workdir {workdir}')
    rows = []
    for size in args.sizes:
        scene = osp.join(workdir, f'scene_{size}.tif')
        if not osp.exists(scene):
            make_scene(scene, size)
        outs = {}
        for mode in args.modes:
            outs[mode] = osp.join(workdir, f'pred_{size}_{mode}.tif')
            r = run_worker(args, mode, scene, outs[mode])
            r['size'] = size
            rows.append(r)
            gpu = f', GPU peak {r["cuda_peak_mb"]:7.0f} MB' if r.get('cuda_peak_mb') is not None else ''
            print(f'  {size}^2 {mode:5s}: {r["wall_s"]:7.1f} s, peak RSS {r["peak_rss_mb"]:7.0f} MB{gpu}', flush=True)
        if 'fp32' in outs and 'stock' in outs:
            rows.append(dict(size=size, mode='agree_fp32_stock', value=label_agreement(outs['fp32'], outs['stock'])))
        if 'fp32' in outs and 'bf16' in outs:
            rows.append(dict(size=size, mode='agree_bf16_fp32', value=label_agreement(outs['bf16'], outs['fp32'])))
    agree = run_worker(args, 'agree', osp.join(workdir, f'scene_{args.sizes[0]}.tif'), '-')

    print(f'\n{"scene":>7s} | {"mode":>13s} | {"wall s":>8s} | {"vs stock":>8s} | {"peak RSS MB":>11s} | '
          f'{"model-only RSS MB":>17s}')
    print('-' * 80)
    for size in args.sizes:
        by = {r['mode']: r for r in rows if r['size'] == size}
        st = by.get('stock')
        for mode, name in (('stock', 'mmseg stock'), ('fp32', 'ours fp32'), ('bf16', 'ours bf16')):
            if mode not in by:
                continue
            r = by[mode]
            speed = f'{st["wall_s"] / r["wall_s"]:.2f}x' if st else '-'
            print(f'{size:>6d}² | {name:>13s} | {r["wall_s"]:8.1f} | {speed:>8s} | {r["peak_rss_mb"]:11.0f} | '
                  f'{r["base_rss_mb"]:17.0f}')
    print()
    for size in args.sizes:
        by = {r['mode']: r for r in rows if r['size'] == size}
        if 'agree_fp32_stock' in by:
            print(f'{size}²: ours fp32 labels == stock labels on {100 * by["agree_fp32_stock"]["value"]:.4f}% '
                  'of pixels')
        if 'agree_bf16_fp32' in by:
            print(f'{size}²: bf16 argmax agreement with fp32: {100 * by["agree_bf16_fp32"]["value"]:.3f}% '
                  '(bf16 is NOT equal output)')
    if len(args.sizes) > 1:
        lo, hi = min(args.sizes), max(args.sizes)
        for mode, name in (('stock', 'mmseg stock'), ('fp32', 'ours fp32'), ('bf16', 'ours bf16')):
            a = [r for r in rows if r['mode'] == mode and r['size'] == lo]
            b = [r for r in rows if r['mode'] == mode and r['size'] == hi]
            if a and b:
                print(f'{name}: peak RSS {a[0]["peak_rss_mb"]:.0f} MB at {lo}² -> {b[0]["peak_rss_mb"]:.0f} MB at '
                      f'{hi}² ({b[0]["peak_rss_mb"] / a[0]["peak_rss_mb"]:.2f}x for {(hi / lo)**2:.0f}x the pixels)')
    print(f'logits on a {agree["crop"][0]}x{agree["crop"][1]} crop: max |ours fp32 - stock| = '
          f'{agree["fp32_vs_stock_max"]:.2e}; max |bf16 - fp32| = {agree["bf16_vs_fp32_max"]:.3f}, '
          f'argmax agreement {100 * agree["bf16_vs_fp32_argmax"]:.3f}%')


if __name__ == '__main__':
    main()

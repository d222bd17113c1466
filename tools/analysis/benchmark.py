"""Inference speed (FPS) and peak memory of a config's model, through its own test path.

    python tools/analysis/benchmark.py CONFIG [CHECKPOINT] --shape 1024 1024 [--batch 1] [--iters 20]
        [--warmup 3] [--device cpu|cuda] [--amp] [--cfg-options KEY=VALUE ...]

Each iteration runs ``model.test_step`` on ``--batch`` random uint8 images of ``--shape``: the data
preprocessor, the config's ``test_cfg`` mode (whole / slide / batched slide), resizing to the original shape and
the argmax -- what ``tools/test.py`` spends per image, minus data loading. Without CHECKPOINT the weights are
random (speed and memory do not depend on them); with it, loading follows rsseg_ext's checkpoint policy.

Peak memory: on CUDA ``torch.cuda.max_memory_allocated`` during the timed iterations; on the CPU the process's
peak resident set size (``ru_maxrss``) and its growth over the model-only footprint (what the forward passes add).
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402

import rsseg_ext  # noqa: E402,F401
from mmseg.registry import MODELS  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402
from mmseg.utils import register_all_modules  # noqa: E402
from rsseg_ext.engine.dist_utils import sync_bn_to_bn  # noqa: E402
from rsseg_ext.utils.memory import peak_rss_mb  # noqa: E402


def strip_pretrained(model_cfg) -> None:
    """Random weights are enough to time a model: drop every pretrained ``init_cfg`` (nothing is read)."""
    model_cfg.pop('pretrained', None)
    for part in model_cfg.values():
        if isinstance(part, dict) and isinstance(part.get('init_cfg'), dict):
            part['init_cfg'] = None


def build(args):
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    strip_pretrained(cfg.model)
    if args.device == 'cpu':
        sync_bn_to_bn(cfg.model)  # SyncBN needs a process group and CUDA
    model = MODELS.build(cfg.model)
    if args.checkpoint:
        from mmengine.runner import load_checkpoint
        load_checkpoint(model, args.checkpoint, map_location='cpu')
    return cfg, model.to(args.device).eval()


def make_batch(cfg, shape, batch: int, device: str) -> dict:
    in_ch = len(cfg.model.get('data_preprocessor', {}).get('mean') or [0, 0, 0])
    g = torch.Generator().manual_seed(0)
    h, w = shape
    inputs = [torch.randint(0, 256, (in_ch, h, w), generator=g, dtype=torch.uint8).to(device) for _ in range(batch)]
    samples = [SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                                           scale_factor=(1.0, 1.0), flip=False)) for _ in range(batch)]
    return dict(inputs=inputs, data_samples=samples)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint', nargs='?', default=None)
    p.add_argument('--shape', type=int, nargs=2, default=[1024, 1024], metavar=('H', 'W'))
    p.add_argument('--batch', type=int, default=1, help='images per test_step (default 1)')
    p.add_argument('--iters', type=int, default=20, help='timed iterations (default 20)')
    p.add_argument('--warmup', type=int, default=3, help='untimed iterations first (default 3)')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', choices=['cpu', 'cuda'])
    p.add_argument('--amp', action='store_true', help='autocast (fp16 on CUDA, bf16 on CPU)')
    p.add_argument('--threads', type=int, default=0, help='CPU threads (default: torch default)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = p.parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        p.error('--device cuda: no CUDA device is available (use --device cpu)')
    if args.iters < 1 or args.batch < 1 or args.warmup < 0:
        p.error('--iters and --batch must be >= 1, --warmup >= 0')
    if args.threads:
        torch.set_num_threads(args.threads)

    cfg, model = build(args)
    params = sum(t.numel() for t in model.parameters())
    data = make_batch(cfg, args.shape, args.batch, args.device)
    cuda = args.device == 'cuda'
    amp = torch.autocast(args.device, dtype=torch.float16 if cuda else torch.bfloat16, enabled=args.amp)
    base_rss = peak_rss_mb()

    def step():
        with torch.no_grad(), amp:
            out = model.test_step(data)
        if cuda:
            torch.cuda.synchronize()
        return out

    for _ in range(args.warmup):
        step()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.iters):
        t0 = time.perf_counter()
        out = step()
        times.append(time.perf_counter() - t0)
    assert len(out) == args.batch and out[0].pred_sem_seg.data.shape[-2:] == tuple(args.shape)

    times.sort()
    median = times[len(times) // 2]
    per_img = median / args.batch
    mode = cfg.model.get('test_cfg', {}).get('mode', 'whole')
    print(f'config:     {args.config}')
    print(f'checkpoint: {args.checkpoint or "none (random weights)"}')
    print(f'device:     {args.device}' + (f' ({torch.cuda.get_device_name()})' if cuda else
                                          f' ({torch.get_num_threads()} threads)') + (', amp' if args.amp else ''))
    print(f'input:      {args.batch} x {args.shape[0]}x{args.shape[1]}, test mode {mode!r}, '
          f'{args.iters} timed iterations after {args.warmup} warm-up')
    print(f'params:     {params / 1e6:.3f} M')
    print(f'latency:    {per_img * 1e3:.1f} ms/img (median; min {times[0] / args.batch * 1e3:.1f}, '
          f'max {times[-1] / args.batch * 1e3:.1f})')
    print(f'throughput: {1.0 / per_img:.2f} img/s')
    if cuda:
        print(f'peak mem:   {torch.cuda.max_memory_allocated() / 2**20:.0f} MB allocated on the GPU')
    else:
        peak = peak_rss_mb()
        print(f'peak mem:   {peak:.0f} MB peak RSS ({max(peak - base_rss, 0):.0f} MB over the model-only '
              f'{base_rss:.0f} MB)')


if __name__ == '__main__':
    main()

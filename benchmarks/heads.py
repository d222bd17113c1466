"""Forward and forward+backward time and peak memory of every decode head on the same feature input.

    python benchmarks/heads.py [--heads fcn d2ls ...] [--batch 2] [--size 128] [--iters 5] [--device cpu|cuda]

Each head runs in its own subprocess so that peak memory is its own: on CPU the peak RSS growth over the process
baseline after building the head and its inputs (ru_maxrss), on GPU ``torch.cuda.max_memory_allocated``.
Heads register themselves in ``HEADS`` below: a name -> (head config, list of feature channels, strides).
Figures are printed, never asserted (timings are not tests).
"""
import argparse
import json
import os.path as osp
import resource
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

NORM = dict(type='BN', requires_grad=True)
# name -> (decode-head config, feature channels per level, feature strides relative to level 0)
HEADS = {
    'fcn': (dict(type='FCNHead', in_channels=1024, in_index=3, channels=256, num_convs=2, concat_input=True,
                 num_classes=7, norm_cfg=NORM), [128, 256, 512, 1024], [1, 2, 4, 8]),
    # SCSM on ResNet-50-D8 levels (1/4, then 1/8 x3): the paper's head (C=128, d=64, P=21, M=16, ROPE+)
    'scsm': (dict(type='SCSMHead', in_channels=2048, in_index=3, channels=128, num_classes=7, norm_cfg=NORM),
             [256, 512, 1024, 2048], [1, 2, 2, 2]),
    # LOGCAN++ on plain ResNet-50 levels (1/4 .. 1/32): T=128, 8 heads, 4x4 window grid
    'logcanplus': (dict(type='LOGCANPlusHead', in_channels=[256, 512, 1024, 2048], in_index=[0, 1, 2, 3],
                        channels=128, num_classes=7, norm_cfg=NORM), [256, 512, 1024, 2048], [1, 2, 4, 8]),
    # D2LS on the ConvNeXt-B pyramid (1/4 .. 1/32), same features as 'fcn': C'=256, r=4, L=3; train mode also
    # runs the static branch (the benchmark backpropagates the dynamic logits)
    'd2ls': (dict(type='D2LSHead', in_channels=[128, 256, 512, 1024], in_index=[0, 1, 2, 3], channels=256,
                  num_classes=7), [128, 256, 512, 1024], [1, 2, 4, 8]),
}


def _feats(channels, strides, batch, size, device):
    import torch
    return [torch.randn(batch, c, max(size // s, 1), max(size // s, 1), device=device)
            for c, s in zip(channels, strides)]


def run_one(name: str, batch: int, size: int, iters: int, device: str) -> dict:
    import torch

    import rsseg_ext  # noqa: F401
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg, channels, strides = HEADS[name]
    head = MODELS.build(dict(cfg)).to(device)
    feats = _feats(channels, strides, batch, size, device)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()

    def sync():
        if device == 'cuda':
            torch.cuda.synchronize()

    def timed(fn):
        fn()  # warm-up
        sync()
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        sync()
        return (time.perf_counter() - t0) / iters

    head.eval()
    with torch.no_grad():
        t_fwd = timed(lambda: head(feats))
    head.train()

    def fwd_bwd():
        out = head(feats)
        out = out[0] if isinstance(out, (tuple, list)) else out
        out.float().mean().backward()

    t_fb = timed(fwd_bwd)
    if device == 'cuda':
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_rss) / 1024
    params = sum(p.numel() for p in head.parameters()) / 1e6
    return dict(head=name, params_M=params, fwd_ms=t_fwd * 1e3, fwd_bwd_ms=t_fb * 1e3, peak_MiB=peak)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--heads', nargs='+', default=None, help=f'subset of {sorted(HEADS)}')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--size', type=int, default=128, help='side of the level-0 feature map')
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--device', default=None, help='cpu or cuda (default: cuda when available)')
    parser.add_argument('--_one', default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._one:
        print(json.dumps(run_one(args._one, args.batch, args.size, args.iters, args.device)))
        return
    import torch
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    names = args.heads or sorted(HEADS)
    unknown = sorted(set(names) - set(HEADS))
    if unknown:
        sys.exit(f'unknown head(s) {unknown}; known: {sorted(HEADS)}')
    print(f'device={device} batch={args.batch} level-0 size={args.size} iters={args.iters} '
          f'torch threads={torch.get_num_threads()}')
    print(f'{"head":14s} {"params(M)":>10s} {"fwd(ms)":>10s} {"fwd+bwd(ms)":>12s} {"peak(MiB)":>10s}')
    for name in names:
        res = subprocess.run([sys.executable, __file__, '--_one', name, '--batch', str(args.batch), '--size',
                              str(args.size), '--iters', str(args.iters), '--device', device],
                             capture_output=True, text=True)
        if res.returncode != 0:
            print(f'{name:14s} FAILED: {res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "?"}')
            continue
        r = json.loads(res.stdout.strip().splitlines()[-1])
        print(f'{r["head"]:14s} {r["params_M"]:10.3f} {r["fwd_ms"]:10.1f} {r["fwd_bwd_ms"]:12.1f} '
              f'{r["peak_MiB"]:10.1f}')


if __name__ == '__main__':
    main()

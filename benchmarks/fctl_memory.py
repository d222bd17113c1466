"""FCtL inference memory and time per 508x508 patch, next to the paper's §4.4.6 figures.

    python benchmarks/fctl_memory.py [--models fcn8s fctl ...] [--threads 2] [--device cpu|cuda] [--image 2448]

Every model runs in its own subprocess (batch 1, fp32, eval, ``torch.no_grad``, random weights: memory and time do
not depend on the values) built from ``configs/fctl/fctl_vgg16_deepglobe.py``:

* ``fcn8s``  -- the FCN-8s / VGG16 local-only baseline (contexts ``(1.0,)``, no fusion);
* ``fctl``   -- FCtL-VGG16, contexts ``(1.0, 3.0, 'global')``, LCF + GPE + ALE (d); the patch's three inputs
  (patch, 3x context, global thumbnail) all go through their backbones, as for the first patch of an image;
* ``fctl-cached`` -- the same with the global context's features given (every later patch of an image);
* ``fctl-mit-b2`` -- FCtL with MiT-B2 encoders + SegFormer head.

Reported: parameters; parameter memory (fp32); the peak memory of one patch's forward on top of the loaded model
(CPU: the peak RSS, ``VmHWM`` reset through ``/proc/self/clear_refs`` just before the forward, minus the RSS after
building the model and its inputs; CUDA:
``max_memory_allocated`` minus the memory held before); model + that peak (closest to what a process needs for one
patch, and to the paper's figure, which is most likely the nvidia-smi process memory including the CUDA context);
the median time of ``--iters`` forwards after a warm-up; and, with ``--image``, the time of a whole-image
inference (grid, context crops, global cache, blending).
Paper (§4.4.6, one GTX 1080Ti, PyTorch, per 508x508 patch): FCtL 3691 MB, FCN-8s 2477 MB, FCtL 0.16 s/patch, 6 s per
DeepGlobe image, 20 s per Inria image. Figures are printed, never asserted (timings are not tests).
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

from rsseg_ext.utils.memory import peak_rss_mb  # noqa: E402

PAPER_MB = {'fcn8s': 2477, 'fctl': 3691, 'fctl-cached': 3691}
MODELS = ('fcn8s', 'fctl', 'fctl-cached', 'fctl-mit-b2')


def _rss_mb() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) so that the build's transient peak does not count."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def _model_cfg(name: str) -> dict:
    from mmengine.config import Config
    cfg_name = 'fctl_mit-b2_deepglobe.py' if name == 'fctl-mit-b2' else 'fctl_vgg16_deepglobe.py'
    m = Config.fromfile(osp.join(ROOT, 'configs', 'fctl', cfg_name)).model.to_dict()
    m['backbone']['init_cfg'] = None
    m['decode_head'].pop('fc_init_from', None)
    if name == 'fcn8s':
        m.update(contexts=(1.0, ), fusion=None)
    return m


def run_one(name: str, device: str, iters: int, image: int) -> dict:
    import torch
    from mmengine.registry import init_default_scope

    import rsseg_ext  # noqa: F401
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(_model_cfg(name)).eval().to(device)
    p = model.patch_size
    n_params = sum(t.numel() for t in model.parameters())
    patch = torch.randn(1, 3, p, p, device=device)
    ctxs = [torch.randn(1, 3, p, p, device=device) for _ in model.ctx_specs]
    boxes = model.default_ctx_boxes(1, device)
    ctx_feats = None
    if name == 'fctl-cached':
        with torch.no_grad():
            ctx_feats = {model.ctx_specs.index('global'): model.context_features(1, ctxs[1])}
        ctxs[1] = None

    def fwd():
        with torch.no_grad():
            return model.forward_patches(patch, ctxs, boxes, ctx_feats)

    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated() / 2**20
        fwd()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**20 - before
        model_mb = before
    else:
        import gc
        gc.collect()
        _reset_peak_rss()
        before = _rss_mb()
        fwd()
        peak = peak_rss_mb() - before
        model_mb = before
    times = []
    for _ in range(iters):
        if device == 'cuda':
            torch.cuda.synchronize()
        t = time.perf_counter()
        fwd()
        if device == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    out = dict(model=name, params_M=n_params / 1e6, param_MB=n_params * 4 / 2**20, process_MB_before=model_mb,
               forward_peak_MB=peak, s_per_patch=sorted(times)[len(times) // 2])
    if image and name != 'fctl-cached':
        x = torch.randn(1, 3, image, image, device=device)
        t = time.perf_counter()
        with torch.no_grad():
            model.uhr_inference(x)
        out['s_per_image'] = time.perf_counter() - t
        out['patches_per_image'] = len(model.patch_grid(image, image))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--models', nargs='+', default=list(MODELS), choices=MODELS)
    parser.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    parser.add_argument('--threads', type=int, default=2, help='torch CPU threads')
    parser.add_argument('--iters', type=int, default=3)
    parser.add_argument('--image', type=int, default=0, help='also time a whole IMAGExIMAGE image (e.g. 2448)')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import torch
        torch.set_num_threads(args.threads)
        print(json.dumps(run_one(args.child, args.device, args.iters, args.image)))
        return
    rows = []
    for name in args.models:
        cmd = [sys.executable, __file__, '--child', name, '--device', args.device, '--threads', str(args.threads),
               '--iters', str(args.iters), '--image', str(args.image)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode:
            print(f'{name}: failed\n{res.stderr[-3000:]}')
            continue
        rows.append(json.loads(res.stdout.strip().splitlines()[-1]))
    import torch
    print(f'\nFCtL inference per 508x508 patch, batch 1, fp32, device={args.device}, threads={args.threads}, '
          f'torch {torch.__version__}')
    head = (f'{"model":12s} {"params":>8s} {"param MB":>9s} {"proc MB":>8s} {"fwd peak MB":>12s} '
            f'{"model+fwd MB":>13s} {"s/patch":>8s} {"s/image":>8s} {"paper MB (1080Ti)":>18s}')
    print(head)
    print('-' * len(head))
    for r in rows:
        img = f'{r["s_per_image"]:.1f}' if 's_per_image' in r else '-'
        print(f'{r["model"]:12s} {r["params_M"]:7.1f}M {r["param_MB"]:9.0f} {r["process_MB_before"]:8.0f} '
              f'{r["forward_peak_MB"]:12.0f} {r["param_MB"] + r["forward_peak_MB"]:13.0f} {r["s_per_patch"]:8.2f} '
              f'{img:>8s} {PAPER_MB.get(r["model"], "-"):>18}')
    by = {r['model']: r for r in rows}
    if 'fcn8s' in by and 'fctl' in by:
        ours = (by['fctl']['param_MB'] + by['fctl']['forward_peak_MB']) / \
            (by['fcn8s']['param_MB'] + by['fcn8s']['forward_peak_MB'])
        print(f'\nFCtL / FCN-8s (model + forward peak): {ours:.2f}x here; paper {3691 / 2477:.2f}x '
              '(3691 / 2477 MB). Paper time: 0.16 s/patch, 6 s per 2448 image on a 1080Ti.')


if __name__ == '__main__':
    main()

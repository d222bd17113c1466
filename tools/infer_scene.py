"""Segment a whole GeoTIFF scene with bounded memory (see rsseg_ext/apis/scene/).

    python tools/infer_scene.py CONFIG CKPT IN.tif OUT.tif [--bands 1,2,3] [--window 1024 --overlap 128]
        [--batch N] [--tta flip] [--probs [--probs-dtype uint8|float32]] [--blend gaussian|mean]
        [--scale S] [--precision fp32|bf16|fp16] [--device cpu] [--force] [--resume] [--overlay OUT.png]
        [--vocabulary NAMES|FILE] [--cfg-options KEY=VALUE ...]

OUT.tif: uint8 labels, tiled and deflate-compressed, the input's CRS/transform, input nodata -> 255, the model's
palette as colour table. --probs also writes OUT_probs.tif (one band per class). --bands are 1-based and in RGB
order for RGB models. For non-8-bit rasters, --scale multiplies pixel values before the model's normalisation
(e.g. --scale 0.0255 for reflectance x10000 on a model trained on 8-bit images).

Interrupted runs (Ctrl-C, crash, kill) leave .OUT.tif.partial.tif and the progress file .OUT.tif.resume.json next
to OUT.tif; rerun the same command with --resume to continue from the last finished 256-row strip (the result is
byte-identical to an uninterrupted run). Without --resume the leftovers are replaced. A write that fails (full
disk, file-size limit, read-only folder) exits with status 1 and one line naming the file and the fix; nothing is
left under OUT.tif or the overlay's name. See docs/scene_inference.md.
"""
import argparse
import os.path as osp
import sys
import time

from mmengine.config import Config, DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the checkout, if not pip-installed


def parse_bands(text: str):
    try:
        bands = tuple(int(b) for b in text.replace(' ', '').split(',') if b)
    except ValueError:
        raise argparse.ArgumentTypeError(f'--bands must be comma-separated 1-based integers, got {text!r}')
    if not bands:
        raise argparse.ArgumentTypeError('--bands is empty')
    return bands


def parse_scale(text: str):
    try:
        vals = [float(v) for v in text.split(',') if v]
    except ValueError:
        raise argparse.ArgumentTypeError(f'--scale must be a number or one number per band, got {text!r}')
    return vals[0] if len(vals) == 1 else vals


def parse_vocabulary(text: str):
    """A text file of names (one per line) if such a file exists, else comma-separated names."""
    if osp.isfile(osp.expanduser(text)) or ',' not in text:
        return text  # a path: load_vocabulary reads it (or says that it does not exist)
    names = [n.strip() for n in text.split(',') if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError('--vocabulary holds no class names')
    return names


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Whole-scene GeoTIFF inference with an mmseg / rsseg_ext model')
    p.add_argument('config', help='model config file')
    p.add_argument('checkpoint', help='checkpoint (.pth)')
    p.add_argument('input', help='input raster (GeoTIFF or anything GDAL reads)')
    p.add_argument('output', help='output label GeoTIFF')
    p.add_argument('--bands', type=parse_bands, default=(1, 2, 3), help='1-based bands, RGB order (default 1,2,3)')
    p.add_argument('--window', type=int, default=None,
                   help="window side in pixels (default: the config's model.test_cfg.scene_window, else 1024; "
                   'FCtL configs set the image size they were trained on, each window is one FCtL image)')
    p.add_argument('--overlap', type=int, default=None,
                   help='overlap of neighbouring windows (default: test_cfg.scene_overlap, else 128)')
    p.add_argument('--batch', type=int, default=1, help='windows per forward pass (default 1)')
    p.add_argument('--blend', choices=['gaussian', 'mean'], default='gaussian',
                   help="overlap blending: 'gaussian' (no seams, default) or 'mean' (= mmseg slide_inference)")
    p.add_argument('--tta', choices=['none', 'flip'], default='none', help='test-time augmentation')
    p.add_argument('--probs', action='store_true', help='also write OUT_probs.tif with per-class probabilities')
    p.add_argument('--probs-dtype', choices=['uint8', 'float32'], default='uint8',
                   help='uint8: round(255*p) (default); float32: p')
    p.add_argument('--scale', type=parse_scale, default=None,
                   help='multiply pixel values by this (one value or one per band) before normalisation')
    p.add_argument('--precision', choices=['fp32', 'bf16', 'fp16'], default='fp32',
                   help='fp32 (exact) or autocast bf16/fp16 (faster, slightly different logits)')
    p.add_argument('--device', default=None, help='torch device (default: cuda:0 if available, else cpu)')
    p.add_argument('--force', action='store_true', help='overwrite existing outputs')
    p.add_argument('--overlay', default=None, help='also write a colour overlay PNG of the result here')
    p.add_argument('--overlay-size', type=int, default=2048, help='long side of the overlay PNG (default 2048)')
    p.add_argument('--resume', action='store_true',
                   help='continue an interrupted run of the same command from its last finished strip')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='allow unpickling CKPT (only for files you trust; see tools/test.py)')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    p.add_argument('--vocabulary', type=parse_vocabulary, default=None,
                   help='open-vocabulary models (RSKT-Seg, LoVLANet): the class names to segment, comma-separated '
                   "('building,road,tree,other') or a text file with one name per line, in label-index order")
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                   help='override config settings, xxx=yyy (e.g. model.test_cfg.tta=d4 for FCtL)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        sys.exit(f'infer_scene.py: checkpoint {args.checkpoint!r} does not exist')

    import torch
    from mmseg.apis import init_model

    import rsseg_ext  # noqa: F401  (registers the modules, installs the checkpoint policy)
    from rsseg_ext.apis import SceneInferencer, write_overlay_png
    from rsseg_ext.engine import BadCheckpointError, UntrustedCheckpointError, trust_checkpoint
    from rsseg_ext.utils.fileio import OutputWriteError

    if args.trust_checkpoint:
        trust_checkpoint(args.checkpoint)
    device = args.device or ('cuda:0' if torch.cuda.is_available() else 'cpu')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        model = init_model(cfg, args.checkpoint, device=device)
    except (BadCheckpointError, UntrustedCheckpointError) as e:
        sys.exit(f'infer_scene.py: {e}')
    if args.vocabulary is not None:
        from rsseg_ext.models.text import apply_vocabulary
        try:
            names = apply_vocabulary(model, args.vocabulary, what='--vocabulary')
        except (FileNotFoundError, ValueError) as e:
            sys.exit(f'infer_scene.py: {e}')
        print(f'vocabulary ({len(names)} names): {", ".join(names)}')
    inferencer = SceneInferencer(model, window=args.window, overlap=args.overlap, batch=args.batch,
                                 blend=args.blend, tta=args.tta, bands=args.bands, scale=args.scale,
                                 precision=args.precision, progress=not args.no_progress,
                                 checkpoint=args.checkpoint)
    t0 = time.time()
    try:
        res = inferencer.infer_file(args.input, args.output, probs=args.probs, probs_dtype=args.probs_dtype,
                                    force=args.force, resume=args.resume)
    except (FileExistsError, FileNotFoundError, ValueError, OutputWriteError) as e:
        sys.exit(f'infer_scene.py: {e}')
    except KeyboardInterrupt:
        sys.exit(f'infer_scene.py: interrupted after {inferencer.rows_done} finished rows; rerun the same command '
                 'with --resume to continue from there')
    dt = time.time() - t0
    resumed = f', resumed at row {res["resumed_from"]}' if res['resumed_from'] else ''
    print(f'labels: {res["out"]}  ({res["windows"]} windows in {dt:.1f} s{resumed}, strip buffer '
          f'{res["peak_buffer_bytes"] / 2**20:.1f} MiB)')
    if res['probs']:
        print(f'probabilities: {res["probs"]}')
    if args.overlay:
        if osp.exists(args.overlay) and not args.force:
            sys.exit(f'infer_scene.py: {args.overlay!r} exists; pass --force to overwrite it')
        try:
            h, w = write_overlay_png(res['out'], args.input, args.overlay, bands=args.bands[:3],
                                     max_size=args.overlay_size)
        except (FileNotFoundError, ValueError, OutputWriteError) as e:
            sys.exit(f'infer_scene.py: {e} (the labels in {res["out"]} are complete)')
        print(f'overlay: {osp.abspath(args.overlay)} ({w}x{h})')


if __name__ == '__main__':
    main()

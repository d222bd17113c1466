"""Parameters and FLOPs (MACs) of a config's model or one of its parts.

    python tools/analysis/get_complexity.py CONFIG --shape 512 512 [--part decode_head]
    python tools/analysis/get_complexity.py CONFIG --part decode_head.context --input-shape 1 2048 128 128
    python tools/analysis/get_complexity.py CONFIG --params-only   # total/trainable per part, no forward pass

--part: model (default; backbone + neck + head as mmseg's get_flops), backbone, neck, decode_head, auxiliary_head,
or any dotted submodule path (then --input-shape gives its input). No weights are loaded.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmengine.config import Config, DictAction  # noqa: E402

import rsseg_ext  # noqa: E402,F401
from mmseg.registry import MODELS  # noqa: E402
from mmseg.utils import register_all_modules  # noqa: E402
from rsseg_ext.engine.dist_utils import sync_bn_to_bn  # noqa: E402
from rsseg_ext.utils.complexity import count_params, model_complexity  # noqa: E402


def print_param_table(config: str, model) -> None:
    """Total and trainable parameters of the model and of each top-level part (e.g. frozen encoders)."""
    print(f'config:  {config}')
    print(f'{"part":<20} {"total (M)":>12} {"trainable (M)":>14}')
    for name, child in model.named_children():
        total, trainable = count_params(child)
        if total:
            print(f'{name:<20} {total / 1e6:>12.3f} {trainable / 1e6:>14.3f}')
    total, trainable = count_params(model)
    print(f'{"model":<20} {total / 1e6:>12.3f} {trainable / 1e6:>14.3f}')
    print(f'params:  {total / 1e6:.3f} M (trainable {trainable / 1e6:.3f} M)')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, default=[512, 512], metavar=('H', 'W'))
    parser.add_argument('--part', default='model')
    parser.add_argument('--input-shape', type=int, nargs='+', metavar='N', help='B C H W for a dotted --part')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    parser.add_argument('--params-only', action='store_true',
                        help='count parameters only (no forward pass): total and trainable per top-level part')
    args = parser.parse_args()

    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    # counting needs no pretrained weights (and must not try to fetch any)
    cfg.model.pop('pretrained', None)
    backbone = cfg.model.get('backbone', {})
    if isinstance(backbone, dict) and isinstance(backbone.get('init_cfg'), dict):
        backbone['init_cfg'] = None
    sync_bn_to_bn(cfg.model)  # single process, maybe no CUDA
    model = MODELS.build(cfg.model)
    if args.params_only:
        print_param_table(args.config, model)
        return
    in_ch = len(cfg.model.get('data_preprocessor', {}).get('mean') or [0, 0, 0])
    res = model_complexity(model, args.shape, part=args.part, in_channels=in_ch, input_shape=args.input_shape)
    where = f'input {tuple(args.input_shape)}' if args.input_shape else f'image {args.shape[0]}x{args.shape[1]}'
    print(f'config:  {args.config}')
    print(f'part:    {res["part"]} ({where})')
    print(f'params:  {res["params"] / 1e6:.3f} M (trainable {res["trainable_params"] / 1e6:.3f} M)')
    print(f'FLOPs:   {res["flops"] / 1e9:.3f} G (multiply-adds)')


if __name__ == '__main__':
    main()

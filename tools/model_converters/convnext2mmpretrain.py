"""Convert torchvision or timm ConvNeXt ImageNet weights to mmpretrain's ConvNeXt layout.

    python tools/model_converters/convnext2mmpretrain.py convnext_base-6075fbad.pth \
        checkpoints/convnext-base_torchvision_in1k.pth
    # then, in a config: backbone=dict(type='mmpretrain.ConvNeXt', arch='base', init_cfg=dict(
    #     type='LocalPretrained', checkpoint='checkpoints/convnext-base_torchvision_in1k.pth', prefix='backbone.'))

Writes an mmpretrain ``ImageClassifier``-style checkpoint: ``backbone.*`` (stem/downsample layers, stages; the
classifier's LayerNorm as ``backbone.norm3``, as mmpretrain's own ConvNeXt checkpoints) and ``head.fc.*``.
The layout (torchvision ``features.*``/``classifier.*`` or timm ``stem.*``/``stages.*``/``head.*``) is detected.
torchvision's ``convnext_base`` IMAGENET1K_V1 is the backbone the D2LS release was fine-tuned from.

The per-stage output norms ``norm0``-``norm2`` that mmpretrain adds for dense prediction do not exist in either
source: they stay at their initialisation (the ``--config`` check lists them), or use ``ConvNeXtNoOutNorm``.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # _cli.py, the converters' shared command line

from _cli import converter_arg_parser, run_converter  # noqa: E402

from rsseg_ext.models.utils.weight_conversion import (ConversionError, convert_state_dict,  # noqa: E402
                                                      convnext_converter)

SOURCE = ('torchvision (e.g. https://download.pytorch.org/models/convnext_base-6075fbad.pth) or timm '
          '(convnext_*.fb_in1k pytorch_model.bin / model.safetensors) weights')


def detect_layout(sd: dict) -> str:
    """``'torchvision'`` or ``'timm'`` from the key names, else :class:`ConversionError`."""
    if any(k.startswith('features.0.0.') for k in sd):
        return 'torchvision'
    if any(k.startswith('stem.0.') for k in sd) and any('.blocks.' in k for k in sd):
        return 'timm'
    raise ConversionError('not a torchvision (features.0.0.weight) or timm (stem.0.weight, stages.N.blocks...) '
                          f'ConvNeXt state dict; its keys start with: {", ".join(list(sd)[:6])}')


def convert(sd: dict, args) -> tuple:
    layout = args.layout if args.layout != 'auto' else detect_layout(sd)
    out, report = convert_state_dict(sd, convnext_converter(layout, args.prefix, head=not args.no_head),
                                     source=f'{args.src} ({layout} layout)')
    return out, report


def main(argv=None) -> int:
    p = converter_arg_parser(__doc__)
    p.add_argument('--layout', choices=['auto', 'torchvision', 'timm'], default='auto', help='source layout')
    p.add_argument('--prefix', default='backbone.', help="prefix of the backbone keys (default 'backbone.')")
    p.add_argument('--no-head', action='store_true', help='drop the classifier (head norm and fc)')
    args = p.parse_args(argv)
    return run_converter(args, convert, 'ConvNeXt weights', SOURCE, meta=dict(source='ConvNeXt ImageNet weights'),
                         ignore_missing=(lambda k: k.startswith('decode_head.') or k.startswith('auxiliary_head.')))


if __name__ == '__main__':
    sys.exit(main())

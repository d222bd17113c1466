"""Convert a D2LS release checkpoint (github.com/XavierJiezou/D2LS, GeoSeg/Lightning ``.ckpt``) to rsseg_ext.

    python tools/model_converters/d2ls2mmseg.py d2ls_loveda.ckpt checkpoints/d2ls_convnext_loveda_release.pth
    python tools/test.py configs/d2ls/d2ls_convnext_loveda.py checkpoints/d2ls_convnext_loveda_release.pth \
        --cfg-options model.backbone.type=ConvNeXtNoOutNorm

The release is ``DynamicDictionaryLearning`` (torchvision ConvNeXt hooked at ``features[1,3,5,7]`` + the D2LS
decoder) saved by Lightning under ``net.``. Its backbone has no per-stage output LayerNorm, which mmpretrain's
``ConvNeXt`` adds: the converted model computes the release's function with ``ConvNeXtNoOutNorm`` (same keys as
mmpretrain's ConvNeXt, the output norms are identities), which this script checks against by default.

The release's dictionary-free ``last_line`` variant (``output_head`` a 1x1 conv, no hypernetwork MLP) is detected
from the keys: its never-run dictionary / modulator / interactor weights are dropped and the check (and the printed
note) adds ``model.decode_head.last_line=True``. The converted model gives the release's logits within 1e-5
(tests/test_tools/test_d2ls_release.py).

Prints the keys it dropped on purpose, the source keys no rule covers and the target keys left unset; refuses to
write an incomplete conversion unless ``--allow-partial``. Lightning checkpoints may pickle Python objects:
``--trust-checkpoint`` unpickles the file (only for files you trust).
"""
import os.path as osp
import re
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # _cli.py, the converters' shared command line

from _cli import converter_arg_parser, read_source, run_converter  # noqa: E402

from rsseg_ext.models.utils.weight_conversion import (convert_state_dict, d2ls_release_converter,  # noqa: E402
                                                      expect_keys)

DEFAULT_CONFIG = osp.join(REPO_ROOT, 'configs', 'd2ls', 'd2ls_convnext_loveda.py')
SOURCE = 'the D2LS release checkpoints linked from github.com/XavierJiezou/D2LS (README, "weights")'


def is_last_line(sd: dict, prefix: str = 'net.') -> bool:
    """The release's ``Decoder(last_line=True)``: a 4-D (1x1 conv) ``output_head`` and no hypernetwork MLP."""
    head = sd.get(f'{prefix}decoder.output_head.weight')
    return head is not None and head.ndim == 4 and not any(
        k.startswith(f'{prefix}decoder.output_hypernetwork_mlps.') for k in sd)


def convert(sd: dict, args) -> tuple:
    """Release state dict (``net.`` keys, or already stripped) -> our ``EncoderDecoder`` keys + report."""
    prefix = 'net.' if any(k.startswith('net.') for k in sd) else ''
    p = re.escape(prefix)
    expect_keys(sd, [rf'{p}decoder\.token\.basic_queries\.weight', rf'{p}linear_c\.0\.proj\.weight'],
                'a D2LS release checkpoint', args.src)
    last_line = is_last_line(sd, prefix)
    out, report = convert_state_dict(sd, d2ls_release_converter(args.legacy_sam_blocks, net_prefix=prefix,
                                                                last_line=last_line), source=args.src)
    if last_line:
        report.notes.append('last_line release (dictionary-free): evaluate with --cfg-options '
                            'model.decode_head.last_line=True')
    report.notes.append(f'evaluate with --cfg-options model.backbone.type={args.backbone_type}'
                        + (' model.decode_head.legacy_sam_blocks=True' if args.legacy_sam_blocks else '')
                        + ' (the release has no per-stage output norms)')
    report.notes.append('the release normalises inputs with ImageNet mean/std on RGB, as our D2LS configs do')
    return out, report


def main(argv=None) -> int:
    p = converter_arg_parser(__doc__, DEFAULT_CONFIG)
    p.add_argument('--legacy-sam-blocks', action='store_true',
                   help='keep the never-run self-attention/MLP weights (for D2LSHead(legacy_sam_blocks=True))')
    p.add_argument('--backbone-type', default='ConvNeXtNoOutNorm',
                   help='backbone type the target check builds (default ConvNeXtNoOutNorm: the release\'s function)')
    args = p.parse_args(argv)
    opts = dict(args.cfg_options or {})
    opts.setdefault('model.backbone.type', args.backbone_type)
    cache = {}

    def read(path: str) -> dict:  # read once: the layout picks the head variant, then run_converter converts
        if 'sd' not in cache:
            cache['sd'] = read_source(path, 'D2LS release checkpoint', SOURCE, args.trust_checkpoint)
        return cache['sd']

    try:
        sd = read(args.src)
        if is_last_line(sd, 'net.' if any(k.startswith('net.') for k in sd) else ''):
            opts.setdefault('model.decode_head.last_line', True)
    except (RuntimeError, FileNotFoundError, ValueError):
        pass  # run_converter reads it again and reports the problem
    if args.legacy_sam_blocks:
        opts.setdefault('model.decode_head.legacy_sam_blocks', True)
    args.cfg_options = opts
    return run_converter(args, convert, 'D2LS release checkpoint', SOURCE, read=read,
                         meta=dict(source='D2LS release (XavierJiezou/D2LS)', cfg_options=opts))


if __name__ == '__main__':
    sys.exit(main())

"""Convert a LOGCAN++ checkpoint of the authors' rssegmentation toolbox (Lightning ``.ckpt``) to rsseg_ext.

    python tools/model_converters/logcanplus2mmseg.py logcanplus_vaihingen.ckpt \
        checkpoints/logcanplus_r50_vaihingen_release.pth --config configs/logcanplus/logcanplus_r50-d8_vaihingen.py
    python tools/test.py configs/logcanplus/logcanplus_r50-d8_vaihingen.py \
        checkpoints/logcanplus_r50_vaihingen_release.pth --cfg-options model.backbone.type=ResNet

The release (github.com/xwmaxwma/rssegmentation, ``configs/logcanplus.py``) is ``net.backbone`` (torchvision
ResNet-50, output stride 32, 7x7 stem), ``net.seghead`` (``LoGCANPlus_Head``) and ``net.classifier``. Our
LOGCAN++ configs use ResNetV1c (deep stem); the release's backbone is mmseg's plain ``ResNet`` (V1b), same keys as
torchvision: the check builds the config with ``model.backbone.type=ResNet`` unless ``--keep-backbone-type``.

The weights map one to one. The release's window attention pairs the local class centres of one head with the
queries of another (its reshapes interleave heads and windows) and normalises the affine offsets differently;
our ``LocalClassAttention`` does not reproduce that, so a converted model starts from the release's weights but
is not numerically identical to it: fine-tune briefly before comparing numbers. The classes follow the release
config (Vaihingen/Potsdam: 6 with clutter, LoveDA: 7).
"""
import os.path as osp
import re
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)

from rsseg_ext.models.utils.checkpoint_key_maps import logcanplus_release_converter  # noqa: E402
from rsseg_ext.models.utils.state_dict_conversion import (converter_arg_parser, convert_state_dict,  # noqa: E402
                                                          expect_keys, run_converter)

DEFAULT_CONFIG = osp.join(REPO_ROOT, 'configs', 'logcanplus', 'logcanplus_r50-d8_vaihingen.py')
SOURCE = 'the LOGCAN++ checkpoints linked from github.com/xwmaxwma/rssegmentation (README, Baidu pan)'


def convert(sd: dict, args) -> tuple:
    prefix = 'net.' if any(k.startswith('net.') for k in sd) else ''
    p = re.escape(prefix)
    expect_keys(sd, [rf'{p}seghead\.center1\.feat_decoder\.weight', rf'{p}seghead\.bottleneck4\.0\.weight'],
                'a LOGCAN++ (rssegmentation) checkpoint', args.src)
    out, report = convert_state_dict(sd, logcanplus_release_converter(prefix), source=args.src)
    report.notes.append('evaluate with --cfg-options model.backbone.type=ResNet (torchvision-style 7x7 stem)')
    report.notes.append('same weights, not bit-identical outputs: see this script\'s docstring')
    return out, report


def main(argv=None) -> int:
    p = converter_arg_parser(__doc__, DEFAULT_CONFIG)
    p.add_argument('--keep-backbone-type', action='store_true',
                   help='check against the config\'s backbone as is (default: model.backbone.type=ResNet)')
    args = p.parse_args(argv)
    opts = dict(args.cfg_options or {})
    if not args.keep_backbone_type:
        opts.setdefault('model.backbone.type', 'ResNet')
    args.cfg_options = opts
    return run_converter(args, convert, 'LOGCAN++ checkpoint', SOURCE,
                         meta=dict(source='LOGCAN++ release (xwmaxwma/rssegmentation)', cfg_options=opts))


if __name__ == '__main__':
    sys.exit(main())

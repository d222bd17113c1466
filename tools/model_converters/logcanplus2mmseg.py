"""Convert a LOGCAN++ checkpoint of the authors' rssegmentation toolbox (Lightning ``.ckpt``) to rsseg_ext.

    python tools/model_converters/logcanplus2mmseg.py logcanplus_vaihingen.ckpt \
        checkpoints/logcanplus_repvit_vaihingen_release.pth
    python tools/test.py configs/logcanplus/logcanplus_repvit-m2.3_vaihingen.py \
        checkpoints/logcanplus_repvit_vaihingen_release.pth

The release (github.com/xwmaxwma/rssegmentation, ``configs/{vaihingen,potsdam,loveda}/logcanplus.py``) is
``net.backbone``, ``net.seghead`` (``LoGCANPlus_Head``) and ``net.classifier``. The weights its README links are
RepViT-M2.3 with T=96 (``backbone.features.*``, the RepViT authors' flat layout): they go to our ``RepViT`` backbone
(timm's layout) and are checked against ``configs/logcanplus/logcanplus_repvit-m2.3_vaihingen.py`` (Potsdam's
config is the same network). Older ResNet-50 releases (``backbone.conv1/layer*``, torchvision) are checked against
the R-50 config with ``model.backbone.type=ResNet`` (torchvision's 7x7 stem) unless ``--keep-backbone-type``.

Release-compatible mode, chosen here automatically: ``model.decode_head.release_compat=True`` (the RepViT configs
set it; for R-50 it is added to the check and to the file's meta, pass it to tools/test.py too). The converted
model then computes the release's function (tests/test_tools/test_logcanplus_release.py: equal within 1e-5 on
square and non-square inputs), with one deliberate difference: for a batch of several images the release mixes
the class probabilities and global class centres of different images (its ``repeat`` of a batch-major tensor);
we treat every image on its own, i.e. equal to the release run one image at a time.
"""
import os.path as osp
import re
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # _cli.py, the converters' shared command line

from _cli import converter_arg_parser, read_source, run_converter  # noqa: E402

from rsseg_ext.models.utils.weight_conversion import (convert_state_dict, expect_keys,  # noqa: E402
                                                      logcanplus_release_converter)

DEFAULT_CONFIG = osp.join(REPO_ROOT, 'configs', 'logcanplus', 'logcanplus_repvit-m2.3_vaihingen.py')
R50_CONFIG = osp.join(REPO_ROOT, 'configs', 'logcanplus', 'logcanplus_r50-d8_vaihingen.py')
SOURCE = 'the LOGCAN++ checkpoints linked from github.com/xwmaxwma/rssegmentation (README, Baidu pan)'


def is_repvit(sd: dict) -> bool:
    return any(re.fullmatch(r'(net\.)?backbone\.features\.0\.0\.c\.weight', k) for k in sd)


def convert(sd: dict, args) -> tuple:
    prefix = 'net.' if any(k.startswith('net.') for k in sd) else ''
    p = re.escape(prefix)
    expect_keys(sd, [rf'{p}seghead\.center1\.feat_decoder\.weight', rf'{p}seghead\.bottleneck4\.0\.weight'],
                'a LOGCAN++ (rssegmentation) checkpoint', args.src)
    out, report = convert_state_dict(sd, logcanplus_release_converter(prefix, list(sd)), source=args.src)
    if is_repvit(sd):
        report.notes.append('RepViT backbone: evaluate with configs/logcanplus/logcanplus_repvit-m2.3_*.py '
                            '(release_compat=True there)')
    else:
        report.notes.append('ResNet backbone: evaluate with --cfg-options model.backbone.type=ResNet '
                            'model.decode_head.release_compat=True')
    report.notes.append('batch > 1: the release mixes images\' class centres, we do not (equal to the release run '
                        'one image at a time)')
    return out, report


def main(argv=None) -> int:
    p = converter_arg_parser(__doc__, None)
    p.add_argument('--keep-backbone-type', action='store_true',
                   help='R-50 releases: check against the config\'s backbone as is (default: model.backbone.type='
                   'ResNet)')
    args = p.parse_args(argv)
    opts = dict(args.cfg_options or {})
    cache = {}

    def read(path: str) -> dict:  # read once: the layout picks the config, then run_converter converts
        if 'sd' not in cache:
            cache['sd'] = read_source(path, 'LOGCAN++ checkpoint', SOURCE, args.trust_checkpoint)
        return cache['sd']

    try:
        repvit = is_repvit(read(args.src))
    except (RuntimeError, FileNotFoundError, ValueError):
        repvit = True  # run_converter reads it again and reports the problem
    if args.config is None:
        args.config = DEFAULT_CONFIG if repvit else R50_CONFIG
    if not repvit:
        if not args.keep_backbone_type:
            opts.setdefault('model.backbone.type', 'ResNet')
    opts.setdefault('model.decode_head.release_compat', True)  # the release's window geometry and pairing
    args.cfg_options = opts
    return run_converter(args, convert, 'LOGCAN++ checkpoint', SOURCE, read=read,
                         meta=dict(source='LOGCAN++ release (xwmaxwma/rssegmentation)', cfg_options=opts))


if __name__ == '__main__':
    sys.exit(main())

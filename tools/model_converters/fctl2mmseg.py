"""Convert the FCtL authors' released checkpoints (github.com/liqiokkk/FCtL, the ICCV'21 "LCC" code) to rsseg_ext.

    # the final three-context Inria model: all.epoch.pth holds the patch trunk, the fusion and the FCN-8s head; its
    # two frozen context trunks are those of the stage-2 (B10, lam = 2) and stage-3 (B15, lam = 3) models
    python tools/model_converters/fctl2mmseg.py all.epoch.pth checkpoints/fctl-iccv_vgg16_inria.pth \
        --medium B10.epoch.pth --large B15.epoch.pth
    python tools/test.py configs/fctl/fctl-iccv_vgg16_inria.py checkpoints/fctl-iccv_vgg16_inria.pth
    # a single-context model (B10 / B15) or the FCN-8s baseline (Bfcn) on its own
    python tools/model_converters/fctl2mmseg.py B15.epoch.pth checkpoints/fctl-iccv_single-ctx-x3.pth

The release saves ``nn.DataParallel(FCN8(...)).state_dict()`` (``module.`` keys, one file per training stage):

* VGG16 trunk ``pool3``/``pool4``/``pool5`` (torchvision ``features[:17]``, ``[17:24]``, ``[24:]``) -> ``backbone``
  (mmpretrain VGG, through ``vgg2mmpretrain``'s mapping); ``vgg.features.*`` are the same tensors again and
  ``vgg.classifier.*`` the never-run ImageNet classifier (dropped);
* FCN-8s ``output.{0,3,6}`` (conv6, conv7, score) and ``adj_pool3/4`` -> ``decode_head.conv6/conv7/conv_seg`` and
  ``score_pool3/4``; the fixed bilinear ``up_output``/``up_pool4_out``/``up_final`` are FCN8sHead's
  ``upsample='fixed_bilinear'`` (dropped; the script checks they are still bilinear);
* three-context ``all`` (mode 3): ``big_attention`` (the FCtL module: branch '' = medium context, ``_1`` = large,
  ``_2`` = the patch itself; gates ``in_*``/``trans``/``out_*``) -> ``fusion.lcc.{1,2,0}`` and ``fusion.mcf`` (blocks
  of ``trans`` permuted to our branch order (1.0, 2.0, 3.0)); context trunks ``big_pool*`` of ``--medium`` /
  ``--large`` -> ``context_backbones.0/1`` (what the authors' ``MiniFCN8`` loads);
* single-context ``B10``/``B15`` (mode 2): the patch trunk, ``big_pool*`` (in the release the very same modules:
  shared weights) -> ``context_backbones.0``, branch '' of ``big_attention`` -> ``fusion.lcc.0`` (the other branches
  and the gates are never run with one context: dropped);
* FCN-8s ``Bfcn`` (mode 1): trunk + head.

The target configs (``fctl-iccv*`` / ``fcn8s-iccv``) are the **release-compatible mode**: every VGG16 trunk pads
conv1_1 by 100 (``PaddedStemVGG(stem_padding=100)``), the FCN-8s head runs the release's unpadded conv6 and
deconvolutions with its crop offsets 5 / 9 / 31 (``FCN8sHead(geometry='release')``), the patch grid rounds half to
even like ``np.round`` (``test_cfg.grid_rounding='half_even'``), overlapping patch logits are summed
(``test_cfg.merge='sum'``, ``patch2global``), inputs are the release's [0, 1] RGB (mean 0,
std 255) and the final model averages the 8 flips x rot90 (D4) at test time. The converted model then computes the
release's logits (tests/test_tools/test_fctl_converter.py: within 1e-5). The paper-faithful configs (padding-1 VGG16)
are for training from scratch; the weights load into both, but only this mode gives the release's outputs. The kind
is detected from the keys (``--kind`` overrides); ``--config`` defaults to the matching config. The older DeepGlobe
commit (``local`` / ``medium`` / ``large`` FCtL modules) is refused with a clear message.
"""
import os.path as osp
import re
import sys

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from vgg2mmpretrain import vgg_converter  # noqa: E402
from _cli import converter_arg_parser, read_source, run_converter  # noqa: E402

from rsseg_ext.models.decode_heads.fcn8s_head import bilinear_kernel  # noqa: E402
from rsseg_ext.models.utils.weight_conversion import (ConversionError, ConversionReport, DropRule,  # noqa: E402
                                                      KeyConverter, KeyRule, convert_state_dict, expect_keys)

SOURCE = ('the FCtL release linked from github.com/liqiokkk/FCtL (README: all.epoch.pth, B10.epoch.pth, '
          'B15.epoch.pth)')
CONFIGS = {
    'three': osp.join(REPO_ROOT, 'configs', 'fctl', 'fctl-iccv_vgg16_inria.py'),
    'single2': osp.join(REPO_ROOT, 'configs', 'fctl', 'staged', 'fctl-iccv_vgg16_single-ctx-x2_inria.py'),
    'single3': osp.join(REPO_ROOT, 'configs', 'fctl', 'staged', 'fctl-iccv_vgg16_single-ctx-x3_inria.py'),
    'fcn8s': osp.join(REPO_ROOT, 'configs', 'fctl', 'staged', 'fcn8s-iccv_vgg16_inria.py'),
}
KINDS = ('auto', 'three', 'single', 'fcn8s')
# start of each trunk slice in torchvision's vgg16.features
SLICE_START = {'pool3': 0, 'pool4': 17, 'pool5': 24}
# the release's FCtL branches (suffix of conv_query/key/value and gamma) -> our branch index for contexts
# (1.0, 2.0, 3.0): '' = medium (lam 2), '_1' = large (lam 3), '_2' = the patch itself
THREE_BRANCHES = {'': 1, '_1': 2, '_2': 0}
# their gates in_k/out_k (k = 1, 2, 3) follow their branch order '', '_1', '_2'
THREE_GATES = {'1': 1, '2': 2, '3': 0}
TRANS_ORDER = (2, 0, 1)  # our block i of trans <- their block TRANS_ORDER[i]
_VGG = vgg_converter(prefix='', fc=False)  # torchvision features.i -> mmpretrain features.j.conv


def trunk_rule(src: str, out_prefix: str) -> KeyRule:
    """``{src}{3,4,5}.<i>.weight`` (slices of torchvision's VGG16 ``features``) -> ``out_prefix`` mmpretrain VGG."""

    def template(m):
        tv = f'features.{SLICE_START["pool" + m[1]] + int(m[2])}.{m[3]}'
        new = _VGG(tv)
        if new is None:
            raise ConversionError(f'{m[0]}: torchvision {tv} is not a VGG16 convolution')
        return out_prefix + new

    return KeyRule(rf'{re.escape(src)}([345])\.(\d+)\.(weight|bias)', template)


def permute_blocks(order):
    """A transform reordering the ``len(order)`` equal channel blocks of a 1x1 conv's outputs and inputs."""

    def transform(t: torch.Tensor) -> torch.Tensor:
        c = t.shape[0] // len(order)
        idx = torch.cat([torch.arange(o * c, (o + 1) * c) for o in order])
        t = t.index_select(0, idx)
        return t.index_select(1, idx) if t.ndim > 1 else t

    return transform


def scalar(t: torch.Tensor) -> torch.Tensor:
    """Their ``gamma`` ``(1,)`` -> our 0-d ``gamma``."""
    return t.reshape(())


def head_rules():
    h = 'decode_head.'
    return [KeyRule(r'output\.0\.(weight|bias)', h + r'conv6.\1'),
            KeyRule(r'output\.3\.(weight|bias)', h + r'conv7.\1'),
            KeyRule(r'output\.6\.(weight|bias)', h + r'conv_seg.\1'),
            KeyRule(r'adj_pool3\.(weight|bias)', h + r'score_pool3.\1'),
            KeyRule(r'adj_pool4\.(weight|bias)', h + r'score_pool4.\1')]


COMMON_DROPS = [
    DropRule(r'vgg\.features\.\d+\.(weight|bias)',
             'torchvision VGG16 the trunks were cut from: the same tensors as pool3/pool4/pool5'),
    DropRule(r'vgg\.classifier\.\d+\.(weight|bias)', 'never-run ImageNet classifier (conv6/conv7 are output.0/3)'),
    DropRule(r'(up_output|up_pool4_out|up_final)\.weight',
             "fixed bilinear upsampling (frozen in the release): FCN8sHead upsample='fixed_bilinear'"),
]


def lcc_rules(branches: dict):
    def name(kind):
        def template(m):
            b = branches[m[1] or '']
            return f'fusion.lcc.{b}.{kind}.{m[2]}'
        return template

    sfx = '(' + '|'.join(re.escape(s) for s in branches if s) + ')?' if len(branches) > 1 else '()'
    a = r'big_attention\.'
    return [KeyRule(rf'{a}conv_query{sfx}\.(weight|bias)', name('query')),
            KeyRule(rf'{a}conv_key{sfx}\.(weight|bias)', name('key')),
            KeyRule(rf'{a}conv_value{sfx}\.(weight)', name('value')),
            KeyRule(rf'{a}gamma{sfx}', lambda m: f'fusion.lcc.{branches[m[1] or ""]}.gamma', scalar)]


def main_converter(kind: str, prefix: str) -> KeyConverter:
    rules = [trunk_rule('pool', 'backbone.')] + head_rules()
    drops = list(COMMON_DROPS)
    if kind == 'three':
        rules += lcc_rules(THREE_BRANCHES)
        rules += [KeyRule(r'big_attention\.in_([123])\.(weight|bias)',
                          lambda m: f'fusion.mcf.conv_in.{THREE_GATES[m[1]]}.{m[2]}'),
                  KeyRule(r'big_attention\.out_([123])\.(weight|bias)',
                          lambda m: f'fusion.mcf.conv_out.{THREE_GATES[m[1]]}.{m[2]}'),
                  KeyRule(r'big_attention\.trans\.(weight|bias)', r'fusion.mcf.trans.\1', permute_blocks(TRANS_ORDER))]
    elif kind == 'single':
        rules += [trunk_rule('big_pool', 'context_backbones.0.')] + lcc_rules({'': 0})
        drops.append(DropRule(r'big_attention\.(conv_(query|key|value)_[12]\.(weight|bias)|gamma_[12]|'
                              r'(in|out)_[123]\.(weight|bias)|trans\.(weight|bias))',
                              'second/third branch and gates of the FCtL module, never run with one context'))
    return KeyConverter(rules, drops, prefix=prefix)


def context_converter(j: int, prefix: str) -> KeyConverter:
    return KeyConverter([trunk_rule('big_pool', f'context_backbones.{j}.')],
                        [DropRule(r'(?!big_pool[345]\.).*',
                                  'the final model takes only the context trunk (big_pool*) of this file, as the '
                                  "authors' MiniFCN8 does")], prefix=prefix)


def module_prefix(sd: dict) -> str:
    return 'module.' if sd and all(k.startswith('module.') for k in sd) else ''


def detect_kind(sd: dict, prefix: str, path: str) -> str:
    p = re.escape(prefix)
    if any(re.fullmatch(rf'{p}(local|medium|large|big)\.conv_query\.weight', k) for k in sd):
        raise ConversionError(
            f'{path} is a checkpoint of the older DeepGlobe commit of liqiokkk/FCtL (FCtL modules local/medium/'
            'large with the gates on FCN8, residual inside each branch): that layout is not supported; this '
            'converter reads the Inria release (HEAD: all/B10/B15.epoch.pth)')
    expect_keys(sd, [rf'{p}pool3\.0\.weight', rf'{p}pool5\.4\.weight', rf'{p}output\.6\.weight'],
                "an FCtL release checkpoint (the authors' FCN8: pool3/pool4/pool5, output, adj_pool3/4)", path)
    has_attn = f'{prefix}big_attention.conv_query.weight' in sd
    has_big = f'{prefix}big_pool3.0.weight' in sd
    if has_attn and has_big:
        return 'single'
    if has_attn:
        return 'three'
    return 'fcn8s'


def check_upsampling(sd: dict, prefix: str, report: ConversionReport) -> None:
    for name in ('up_output', 'up_pool4_out', 'up_final'):
        w = sd.get(f'{prefix}{name}.weight')
        if w is None or w.ndim != 4 or w.shape[0] != w.shape[1]:
            continue
        ref = torch.zeros_like(w, dtype=torch.float32)
        for c in range(w.shape[0]):
            ref[c, c] = bilinear_kernel(w.shape[-1])
        if not torch.allclose(w.float(), ref, atol=1e-6):
            report.notes.append(f'{name} is not the fixed bilinear kernel: FCN8sHead\'s fixed upsampling differs '
                                'from this file')


def merge(into: ConversionReport, other: ConversionReport, tag: str) -> None:
    into.num_source += other.num_source
    into.source += f' + {tag} {other.source}'
    into.converted.update({k: f'{tag}:{v}' for k, v in other.converted.items()})
    into.dropped.update({f'{tag}:{k}': v for k, v in other.dropped.items()})
    into.unmatched += [f'{tag}:{k}' for k in other.unmatched]


def convert(sd: dict, args) -> tuple:
    """Release state dict (``module.`` keys or stripped) of the detected kind -> our keys + report."""
    prefix = module_prefix(sd)
    found = detect_kind(sd, prefix, args.src)
    kind = found if args.kind == 'auto' else args.kind
    if kind != found:
        raise ConversionError(f'{args.src} is a {found!r} checkpoint by its keys, not {kind!r}')
    out, report = convert_state_dict(sd, main_converter(kind, prefix), source=args.src)
    check_upsampling(sd, prefix, report)
    if kind != 'three' and (args.medium or args.large):
        raise ConversionError(f'--medium/--large only go with the three-context all.epoch.pth; {args.src} is '
                              f'a {kind!r} checkpoint')
    if kind == 'three':
        for j, (tag, path) in enumerate((('medium', args.medium), ('large', args.large))):
            if not path:
                report.notes.append(f'no --{tag}: the context trunk context_backbones.{j} is not in {args.src} '
                                    f'(pass --medium B10.epoch.pth --large B15.epoch.pth)')
                continue
            csd = read_source(path, f'FCtL {tag}-context checkpoint', SOURCE, args.trust_checkpoint)
            cp = module_prefix(csd)
            expect_keys(csd, [rf'{re.escape(cp)}big_pool3\.0\.weight', rf'{re.escape(cp)}big_pool5\.4\.weight'],
                        f'an FCtL checkpoint with a context trunk (big_pool*, e.g. B10/B15.epoch.pth) for --{tag}',
                        path)
            cout, crep = convert_state_dict(csd, context_converter(j, cp), source=path)
            out.update(cout)
            merge(report, crep, tag)
        config = CONFIGS['three']
    elif kind == 'single':
        ctx = args.context or (3 if 'b15' in osp.basename(args.src).lower() else 2)
        config = CONFIGS[f'single{ctx}']
        report.notes.append(f'single-context checkpoint, context lam = {ctx} (--context to change; the keys are the '
                            'same): the release shares the patch and context trunks, the converted model holds two '
                            'equal copies')
    else:
        config = CONFIGS['fcn8s']
    if args.config == 'auto':
        args.config = config
    report.notes.append(f'evaluate with tools/test.py {osp.relpath(config, REPO_ROOT)} DST: release-compatible mode '
                        '(pad-100 VGG16, FCN-8s crop offsets 5/9/31, np.round grid, summed patches, [0, 1] inputs) '
                        "= the release's logits")
    args.meta['compat_mode'] = 'release'
    return out, report


def main(argv=None) -> int:
    p = converter_arg_parser(__doc__, 'auto')
    p.add_argument('--kind', choices=KINDS, default='auto',
                   help='three (all.epoch.pth), single (B10/B15.epoch.pth) or fcn8s (Bfcn); default: from the keys')
    p.add_argument('--medium', help='the stage-2 checkpoint (B10.epoch.pth) whose context trunk is the lam = 2 branch')
    p.add_argument('--large', help='the stage-3 checkpoint (B15.epoch.pth) whose context trunk is the lam = 3 branch')
    p.add_argument('--context', type=int, choices=(2, 3),
                   help='context scale of a single-context checkpoint (default: 3 if the name has B15, else 2)')
    args = p.parse_args(argv)
    args.meta = dict(source='FCtL ICCV release (liqiokkk/FCtL)')
    return run_converter(args, convert, 'FCtL release checkpoint', SOURCE, meta=args.meta)


if __name__ == '__main__':
    sys.exit(main())

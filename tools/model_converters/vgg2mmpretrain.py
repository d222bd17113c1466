"""Convert torchvision VGG16 ImageNet weights (``vgg16-397923af.pth``) to mmpretrain's VGG + FCN-8s layout.

    python tools/model_converters/vgg2mmpretrain.py vgg16-397923af.pth checkpoints/vgg16_torchvision_fcn.pth
    # backbone=dict(type='mmpretrain.VGG', depth=16, init_cfg=dict(type='LocalPretrained',
    #     checkpoint='checkpoints/vgg16_torchvision_fcn.pth', prefix='backbone.'))

torchvision ``features.{0,2,5,7,10,12,14,17,19,21,24,26,28}`` (the 13 convs; ReLU/max-pool have no weights) ->
mmpretrain ``features.{0,1,3,4,6,7,8,10,11,12,14,15,16}.conv`` under ``--prefix`` (``backbone.``). The fully
connected ``fc6``/``fc7`` (``classifier.0``/``classifier.3``) become the 7x7 / 1x1 convolutions ``conv6``/``conv7``
of rsseg_ext's ``FCN8sHead`` under ``--fc-prefix`` (``decode_head.``; FCN-8s initialises them from fc6/fc7),
``--no-fc`` drops them; the 1000-class ``classifier.6`` is dropped.
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # _cli.py, the converters' shared command line

from _cli import converter_arg_parser, run_converter  # noqa: E402

from rsseg_ext.models.utils.weight_conversion import (DropRule, KeyConverter, KeyRule, convert_state_dict,  # noqa: E402
                                                      expect_keys, linear_to_conv1x1)

TV_CONVS = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
MM_CONVS = (0, 1, 3, 4, 6, 7, 8, 10, 11, 12, 14, 15, 16)


def fc6_to_conv(t):
    """``fc6`` (O, 512*7*7) -> a 7x7 conv (O, 512, 7, 7): torchvision flattens the pooled (512, 7, 7) map."""
    return t.reshape(t.shape[0], -1, 7, 7)


def vgg_converter(prefix: str = 'backbone.', fc_prefix: str = 'decode_head.', fc: bool = True) -> KeyConverter:
    rules = [KeyRule(rf'features\.{tv}\.(weight|bias)', rf'{prefix}features.{mm}.conv.\1')
             for tv, mm in zip(TV_CONVS, MM_CONVS)]
    drops = [DropRule(r'classifier\.6\.(weight|bias)', 'ImageNet 1000-class classifier')]
    if fc:
        rules += [KeyRule(r'classifier\.0\.weight', f'{fc_prefix}conv6.weight', fc6_to_conv),
                  KeyRule(r'classifier\.0\.bias', f'{fc_prefix}conv6.bias'),
                  KeyRule(r'classifier\.3\.weight', f'{fc_prefix}conv7.weight', linear_to_conv1x1),
                  KeyRule(r'classifier\.3\.bias', f'{fc_prefix}conv7.bias')]
    else:
        drops.append(DropRule(r'classifier\.[03]\.(weight|bias)', 'fc6/fc7 (--no-fc)'))
    return KeyConverter(rules, drops)


def main(argv=None) -> int:
    p = converter_arg_parser(__doc__)
    p.add_argument('--prefix', default='backbone.', help="prefix of the VGG keys (default 'backbone.')")
    p.add_argument('--fc-prefix', default='decode_head.', help="module holding conv6/conv7 (default 'decode_head.')")
    p.add_argument('--no-fc', action='store_true', help='drop fc6/fc7')
    args = p.parse_args(argv)

    def convert(sd: dict, args) -> tuple:
        expect_keys(sd, [r'features\.28\.weight', r'features\.0\.weight'], 'torchvision VGG16 weights', args.src)
        if any(k.startswith('features.') and k.endswith('running_mean') for k in sd):
            raise ValueError(f'{args.src} is a VGG16-BN checkpoint; this converter reads plain VGG16 (no BN)')
        return convert_state_dict(sd, vgg_converter(args.prefix, args.fc_prefix, not args.no_fc), source=args.src)

    return run_converter(args, convert, 'VGG16 weights', 'https://download.pytorch.org/models/vgg16-397923af.pth',
                         meta=dict(source='torchvision VGG16 ImageNet'))


if __name__ == '__main__':
    sys.exit(main())

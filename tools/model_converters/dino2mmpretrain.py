"""Convert DINO ViT weights (facebookresearch/dino, e.g. ViT-B/8; or GSNet's RS-DINO ``RSIB.pth``).

    # mmpretrain VisionTransformer layout (backbone.* keys, for init_cfg=dict(type='LocalPretrained',
    # checkpoint=..., prefix='backbone.') of a type='mmpretrain.VisionTransformer' backbone):
    python tools/model_converters/dino2mmpretrain.py dino_vitbase8_pretrain.pth checkpoints/dino_vit-b8_mmpretrain.pth
    # rsseg_ext's DINOViTEncoder layout (the DINO names, e.g. a full training checkpoint reduced to its teacher):
    python tools/model_converters/dino2mmpretrain.py dino_vitbase8_pretrain_full_checkpoint.pth \
        checkpoints/dino_vit-b8_teacher.pth --target rsseg

Reads plain DINO state dicts and full DINO training checkpoints (``--checkpoint-key teacher``, the default; the
``module.``/``backbone.`` prefixes are stripped, the DINO projection ``head.*`` is dropped). The keys are
``cls_token, pos_embed, patch_embed.proj, blocks.N.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}, norm``.
Without ``--config`` the target check builds the ViT the file describes (width, depth, patch and grid are read
from the tensors): mmpretrain ``VisionTransformer`` (``--target mmpretrain``) or ``DINOViTEncoder``
(``--target rsseg``, what RSKT-Seg's ``dino`` branch uses; its config reads DINO files directly).
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # _cli.py, the converters' shared command line

import torch.nn as nn  # noqa: E402

from _cli import converter_arg_parser, run_converter  # noqa: E402

from rsseg_ext.models.backbones.dino_vit import DINOViTEncoder, load_dino_checkpoint  # noqa: E402
from rsseg_ext.models.utils.weight_conversion import (convert_state_dict, dino_to_dino_encoder_converter,  # noqa: E402
                                                      dino_to_mmpretrain_vit_converter, expect_keys)


def vit_geometry(sd: dict) -> dict:
    """Width, depth, patch size and pre-training grid of a DINO/timm ViT state dict."""
    w = sd['patch_embed.proj.weight']
    depth = len({k.split('.')[1] for k in sd if k.startswith('blocks.')})
    grid = int(round((sd['pos_embed'].shape[1] - 1)**0.5))
    hidden = sd['blocks.0.mlp.fc1.weight'].shape[0]
    return dict(embed_dim=w.shape[0], depth=depth, patch_size=w.shape[-1], img_size=grid * w.shape[-1],
                mlp_ratio=hidden / w.shape[0])


def build_target(geo: dict, target: str) -> nn.Module:
    """A random-weight ViT of the file's geometry (heads do not change any shape: width // 64, at least 1)."""
    heads = max(1, geo['embed_dim'] // 64)
    if target == 'rsseg':
        return DINOViTEncoder(patch_size=geo['patch_size'], embed_dim=geo['embed_dim'], depth=geo['depth'],
                              num_heads=heads, mlp_ratio=geo['mlp_ratio'], pretrain_img_size=geo['img_size'],
                              input_size=geo['img_size'], out_indices=(geo['depth'] - 1, ), allow_random_init=True)
    from mmpretrain.models.backbones import VisionTransformer
    arch = dict(embed_dims=geo['embed_dim'], num_layers=geo['depth'], num_heads=heads,
                feedforward_channels=int(geo['embed_dim'] * geo['mlp_ratio']))
    return VisionTransformer(arch=arch, patch_size=geo['patch_size'], img_size=geo['img_size'], out_type='raw')


def main(argv=None) -> int:
    p = converter_arg_parser(__doc__)
    p.add_argument('--target', choices=['mmpretrain', 'rsseg'], default='mmpretrain',
                   help='mmpretrain VisionTransformer keys (default) or rsseg_ext DINOViTEncoder keys')
    p.add_argument('--prefix', default=None,
                   help="prefix of the written keys (default: 'backbone.' for mmpretrain, '' for rsseg)")
    p.add_argument('--checkpoint-key', default='teacher',
                   help="sub-dict of a full DINO training checkpoint to read (default 'teacher')")
    args = p.parse_args(argv)
    prefix = args.prefix if args.prefix is not None else ('backbone.' if args.target == 'mmpretrain' else '')
    built = {}

    def convert(sd: dict, args) -> tuple:
        expect_keys(sd, [r'pos_embed', r'patch_embed\.proj\.weight', r'blocks\.0\.attn\.qkv\.weight'],
                    'DINO/timm ViT weights', args.src)
        conv = (dino_to_mmpretrain_vit_converter(prefix) if args.target == 'mmpretrain' else
                dino_to_dino_encoder_converter(prefix))
        out, report = convert_state_dict(sd, conv, source=args.src)
        if not args.config:  # check against the ViT the file describes, under the chosen prefix
            geo = vit_geometry(sd)
            report.notes.append(f'geometry read from the file: {geo}')
            target = build_target(geo, args.target)
            built['model'] = nn.Module()
            if prefix:
                parent, name = built['model'], prefix.rstrip('.')
                for part in name.split('.')[:-1]:
                    parent.add_module(part, nn.Module())
                    parent = getattr(parent, part)
                parent.add_module(name.split('.')[-1], target)
            else:
                built['model'] = target
        return out, report

    def read(path: str) -> dict:
        return load_dino_checkpoint(path, args.checkpoint_key, config_key='SRC')

    # the default target is built inside convert() from the file's geometry, hence the callable
    return run_converter(args, convert, 'DINO ViT weights', read=read,
                         target_model=None if args.config else (lambda: built.get('model')),
                         meta=dict(source='DINO ViT', target=args.target))


if __name__ == '__main__':
    sys.exit(main())

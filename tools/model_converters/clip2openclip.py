"""Extract and validate CLIP weights (OpenAI TorchScript ``.pt``, RemoteCLIP ``.pt``, open_clip ``.bin`` /
``.safetensors`` / training checkpoints) into a plain open_clip-layout checkpoint.

    python tools/model_converters/clip2openclip.py RemoteCLIP-ViT-B-32.pt checkpoints/remoteclip_vit-b32.pth
    python tools/model_converters/clip2openclip.py ViT-B-16.pt checkpoints/openai_vit-b16.pth --model-name ViT-B-16
    python tools/model_converters/clip2openclip.py RemoteCLIP-ViT-B-32.pt checkpoints/remoteclip_text.pth --text-only

OpenAI CLIP and RemoteCLIP use open_clip's key layout (``visual.*``, ``transformer.resblocks.N.*``,
``token_embedding``, ``positional_embedding``, ``ln_final``, ``text_projection``, ``logit_scale``), which
rsseg_ext's ``OpenCLIPTextEncoder`` / ``OpenCLIPDenseBackbone`` read (``checkpoint=...``). This script makes such
a file safe and checkable: the result is ``{'state_dict', 'meta'}`` that loads with ``torch.load(weights_only=True)``
(no TorchScript, no pickled objects), the TorchScript metadata entries are dropped, ``module.`` is stripped, and
the weights are loaded strictly into an open_clip model: ``--model-name`` (an open_clip architecture, built
without network access) or, by default, the ViT CLIP the tensors describe (widths, depths, patch, context length).
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # _cli.py, the converters' shared command line

from _cli import converter_arg_parser, run_converter  # noqa: E402

from rsseg_ext.models.text.clip_text_encoder import CLIP_WEIGHT_SOURCES, build_open_clip  # noqa: E402
from rsseg_ext.models.utils.weight_conversion import (DropRule, KeyConverter, KeyRule, convert_state_dict,  # noqa: E402
                                                      expect_keys)


def _count(sd: dict, prefix: str) -> int:
    return len({k[len(prefix):].split('.')[0] for k in sd if k.startswith(prefix)})


def infer_clip_cfg(sd: dict) -> dict:
    """``open_clip.model.CLIP`` kwargs from a ViT CLIP state dict (what OpenAI's loader infers, rewritten).

    Head counts do not change any tensor shape and are set to width // 64 (at least 1).
    """
    cfg = dict(embed_dim=sd['text_projection'].shape[1])
    t_width = sd['ln_final.weight'].shape[0]
    cfg['text_cfg'] = dict(context_length=sd['positional_embedding'].shape[0],
                           vocab_size=sd['token_embedding.weight'].shape[0], width=t_width,
                           heads=max(1, t_width // 64), layers=_count(sd, 'transformer.resblocks.'))
    if 'visual.conv1.weight' in sd:
        w = sd['visual.conv1.weight']
        grid = int(round((sd['visual.positional_embedding'].shape[0] - 1)**0.5))
        width = w.shape[0]
        cfg['vision_cfg'] = dict(layers=_count(sd, 'visual.transformer.resblocks.'), width=width,
                                 patch_size=w.shape[-1], image_size=grid * w.shape[-1],
                                 head_width=min(64, width),
                                 mlp_ratio=sd['visual.transformer.resblocks.0.mlp.c_fc.weight'].shape[0] / width)
    return cfg


def clip_converter(text_only: bool) -> KeyConverter:
    drops = [DropRule(r'input_resolution|context_length|vocab_size', 'OpenAI TorchScript metadata, not weights'),
             DropRule(r'(.*\.)?attn_mask', 'causal attention mask (a TorchScript export keeps it; open_clip rebuilds it)')]
    if text_only:
        drops.append(DropRule(r'visual\..*', 'image tower (--text-only)'))
    return KeyConverter([KeyRule(r'(.+)', r'\1')], drops)


def main(argv=None) -> int:
    p = converter_arg_parser(__doc__)
    p.add_argument('--model-name', help='open_clip architecture to check against (e.g. ViT-B-32); default: inferred')
    p.add_argument('--text-only', action='store_true', help='keep only the text tower (LoVLANet needs no images)')
    args = p.parse_args(argv)
    holder = {}

    def convert(sd: dict, args) -> tuple:
        expect_keys(sd, [r'token_embedding\.weight', r'transformer\.resblocks\.0\.attn\.in_proj_weight',
                         r'text_projection'], 'CLIP weights in the OpenAI/open_clip layout', args.src)
        if 'logit_scale' in sd and sd['logit_scale'].ndim == 1 and sd['logit_scale'].numel() == 1:
            sd = dict(sd, logit_scale=sd['logit_scale'].reshape(()))  # some exports store it as shape (1,)
        out, report = convert_state_dict(sd, clip_converter(args.text_only), source=args.src)
        if args.model_name:
            model = build_open_clip(args.model_name)
        elif 'visual.conv1.weight' in sd or args.text_only:
            cfg = infer_clip_cfg(sd)
            cfg.setdefault('vision_cfg', dict(layers=1, width=64, patch_size=16, image_size=32))
            report.notes.append(f'architecture read from the file: {cfg}')
            model = build_open_clip(model_cfg=cfg)
        else:  # ModifiedResNet image towers (RN50, ...) are not inferred
            report.notes.append('not a ViT image tower: pass --model-name (e.g. RN50) to check the keys')
            return out, report
        if args.text_only:
            model.visual = None
        # text-only: no visual.* keys to check; open_clip's optional logit_bias is absent from CLIP releases
        holder['model'] = model
        return out, report

    return run_converter(args, convert, 'CLIP weights', CLIP_WEIGHT_SOURCES['RemoteCLIP'],
                         target_model=None if args.config else (lambda: holder.get('model')),
                         ignore_missing=lambda k: k.startswith('logit_bias'),
                         meta=dict(source='CLIP (open_clip layout)', model_name=args.model_name or 'inferred',
                                   text_only=args.text_only))


if __name__ == '__main__':
    sys.exit(main())

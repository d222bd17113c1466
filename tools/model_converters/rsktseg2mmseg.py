"""Convert an RSKT-Seg release checkpoint (github.com/LiBingyu01/RSKT-Seg, detectron2 ``.pth``) to rsseg_ext.

    python tools/model_converters/rsktseg2mmseg.py \
        0SAVEoutput_vitb_384_DLRSD_rotate_dino_remoteclip_3W_layer5/model_final.pth \
        checkpoints/rskt-seg_vit-b16_dlrsd_release.pth
    python tools/ovrsis_benchmark.py configs/rskt_seg/rskt-seg-release_vit-b16_dlrsd.py \
        checkpoints/rskt-seg_vit-b16_dlrsd_release.pth

Release folder (KEY_reproduce.sh of the official repo) -> config: ``..._vitb_384_DLRSD_..._layer5`` ->
``rskt-seg_vit-b16_dlrsd.py``; ``..._vitb_384_iSAID_..._layer3`` -> ``rskt-seg_vit-b16_isaid.py``;
``..._vitl_336_DLRSD_..._layer5`` -> ``rskt-seg_vit-l14_dlrsd.py``; ``..._vitl_336_iSAID_..._layer2`` ->
``rskt-seg_vit-l14_isaid.py``.

The release is detectron2's ``{'model': state_dict, 'optimizer', 'scheduler', 'iteration'}``; only ``model`` is
read (the training state is not carried over). Its ``RSKT_Seg`` meta-architecture holds

* ``sem_seg_head.predictor.clip_model.*``: the fine-tuned OpenAI CLIP (both towers), in the OpenAI key layout with
  every attention's packed ``in_proj_weight`` split into ``q_proj_weight``/``k_proj_weight``/``v_proj_weight``
  (``in_proj_bias`` stays packed) -> ``backbone.text_encoder.clip.*`` (our ``OpenCLIPDenseBackbone`` splits q/k/v
  the same way, so the names are unchanged; a packed ``in_proj_weight`` is split here);
* ``sem_seg_head.predictor.clip_model_remote.*``: the frozen RemoteCLIP ViT-B/32, also split -> the image tower goes
  to ``remote_clip.visual.*`` with q/k/v concatenated back into ``in_proj_weight`` (our
  ``OpenCLIPIntermediateEncoder`` keeps the packed layout; exact); the text tower is never run and is dropped;
* ``dino_model.*``: the frozen RS-DINO ViT-B/8 (DINO names) -> ``dino.*``;
* ``upsample{1,2}[_remote]``, ``dino_decod_proj{1,2}`` (guidance pre-projections) -> ``decode_head.pre_proj.*``;
  ``dino_down_sample`` -> ``neck.dino_proj``;
* ``sem_seg_head.predictor.transformer.*`` (``RSKT_Decoder``): cost embeddings ``conv1``/``conv2``/``fusion_corr``,
  guidance projections and the N RS-Fusion ``layers.i.{spatial_fusion, class_fusion}.sa`` -> ``neck.*``;
  ``CLIP/DINO_decoder_guidance_projection[_remote]``, ``Fusiondecoder{1,2}``, ``head`` -> ``decode_head.*``.

The number of RS-Fusion layers N is read from the keys (the releases use B/16: DLRSD 5, iSAID 3; L/14: DLRSD 5,
iSAID 2); a ``--config`` whose ``model.neck.num_layers`` or CLIP width differs is refused with the option to set.
Without ``--config`` the matching ``configs/rskt_seg`` config is picked from the release's CLIP and N
(``--config none`` skips the target check, which builds the full model on the CPU).

``--mode release`` (default) is the release-compatible mode: without ``--config`` the matching
``configs/rskt_seg/rskt-seg-release_*`` config is picked, which sets it; with ``--config`` it is added to the
printed ``--cfg-options`` and to the file's ``meta['cfg_options']``: ``model.dino.pos_embed_resize=scale_factor`` (the release resizes DINO's 28 x 28
position table with ``scale_factor=48.1/28``, not to size 48) and ``model.test_cfg.release_pad_divisor=32`` (the
release zero-pads inputs to a multiple of 32, 450 -> 480, and never crops the padding back). ``--mode paper``
leaves the configs' paper-faithful defaults (what training from scratch uses). Prints the keys dropped on
purpose, the source keys no rule covers and the target keys left unset; refuses to write an incomplete conversion
unless ``--allow-partial``. detectron2 checkpoints may pickle Python objects: ``--trust-checkpoint`` unpickles the
file (only for files you trust).
"""
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Tuple

import torch

TOOLS_DIR = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(osp.dirname(TOOLS_DIR))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, TOOLS_DIR)

from clip2openclip import clip_converter, infer_clip_cfg  # noqa: E402
from _cli import converter_arg_parser, run_converter  # noqa: E402

from rsseg_ext.models.utils.weight_conversion import (ConversionError, DropRule, KeyConverter, KeyRule,  # noqa: E402
                                                      convert_state_dict, dino_to_dino_encoder_converter,
                                                      expect_keys, merge_in_proj, split_in_proj)

SOURCE = 'the RSKT-Seg release checkpoints linked from github.com/LiBingyu01/RSKT-Seg (README, "checkpoints")'
CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'rskt_seg')
#: (CLIP architecture, N) of each release -> our config
RELEASE_CONFIGS = {
    ('ViT-B/16', 5): 'rskt-seg_vit-b16_dlrsd.py',
    ('ViT-B/16', 3): 'rskt-seg_vit-b16_isaid.py',
    ('ViT-L/14', 5): 'rskt-seg_vit-l14_dlrsd.py',
    ('ViT-L/14', 2): 'rskt-seg_vit-l14_isaid.py',
}
#: the release-compatible mode (--mode release): config keys that make the converted model compute the release
RELEASE_MODE = {'model.dino.pos_embed_resize': 'scale_factor', 'model.test_cfg.release_pad_divisor': 32}
#: when N matches no release: the config of the same CLIP, with model.neck.num_layers overridden
ARCH_CONFIGS = {'ViT-B/16': 'rskt-seg_vit-b16_dlrsd.py', 'ViT-L/14': 'rskt-seg_vit-l14_isaid.py'}

PRED = 'sem_seg_head.predictor.'
CLIP = PRED + 'clip_model.'
RCLIP = PRED + 'clip_model_remote.'
DEC = PRED + 'transformer.'
_WB = r'(weight|bias)'
_e = re.escape


# ---------------------------------------------------------------------------------------------- q/k/v layout
def _under(prefix: str):
    """Select the attention modules under ``prefix`` (``<p>.in_proj_weight`` / ``<p>.q_proj_weight`` keys)."""
    return lambda p: p.startswith(prefix) and p.endswith('.')


def merge_qkv(sd: Dict[str, torch.Tensor], prefix: str) -> Tuple[Dict[str, torch.Tensor], int]:
    """``<p>.{q,k,v}_proj_weight`` under ``prefix`` -> ``<p>.in_proj_weight = cat([q, k, v])`` (exact)."""
    return merge_in_proj(sd, _under(prefix))


def split_qkv(sd: Dict[str, torch.Tensor], prefix: str) -> Tuple[Dict[str, torch.Tensor], int]:
    """``<p>.in_proj_weight (3E, E)`` under ``prefix`` -> ``<p>.{q,k,v}_proj_weight`` (exact)."""
    return split_in_proj(sd, _under(prefix), clone=True)


# ---------------------------------------------------------------------------------------------- key rules
def _fusion_rules() -> List[KeyRule]:
    """One RS-Fusion layer: ``layers.i.{spatial_fusion,class_fusion}.sa`` (MiT blocks) -> our SET / CET.

    The release's gated MLP is ``fc3(ReLU6(fc1(z)) * fc2(z))`` (+ ``dwconv.dwconv`` in SET); ours is
    ``fc2(ReLU6(fc1(z)) * gate(z))`` (+ ``dwconv``): fc1 -> fc1, fc2 -> gate, fc3 -> fc2. SET's key reduction
    ``attention.sr_k`` is our ``sr``.
    """
    L = _e(DEC) + r'layers\.(\d+)\.'
    rules = []
    for src, dst in (('spatial_fusion', 'spatial'), ('class_fusion', 'klass')):
        s, d = L + src + r'\.sa\.', r'neck.layers.\1.' + dst + '.'
        rules += [
            KeyRule(s + rf'(norm1|norm2)\.{_WB}', d + r'\2.\3'),
            KeyRule(s + rf'attention\.(q|k|v|proj|norm_k|sr_v|norm_v)\.{_WB}', d + r'\2.\3'),
            KeyRule(s + rf'attention\.sr_k\.{_WB}', d + r'sr.\2'),
            KeyRule(s + rf'mlp\.fc1\.{_WB}', d + r'mlp.fc1.\2'),
            KeyRule(s + rf'mlp\.fc2\.{_WB}', d + r'mlp.gate.\2'),
            KeyRule(s + rf'mlp\.fc3\.{_WB}', d + r'mlp.fc2.\2'),
        ]
    rules.append(KeyRule(L + rf'spatial_fusion\.sa\.mlp\.dwconv\.dwconv\.{_WB}', r'neck.layers.\1.spatial.dwconv.\2'))
    return rules


def rskt_release_converter(separate_fusion: bool = True) -> KeyConverter:
    """The release's ``model`` state dict (after :func:`merge_qkv` of the RemoteCLIP tower) -> ``RSKTSeg`` keys.

    ``separate_fusion``: the release's cost fusion is ``simple_separate`` (``conv1``/``conv2``/``fusion_corr`` ->
    ``embed_clip``/``embed_dino``/``embed_fuse``); otherwise its single ``conv1`` is our ``embed``.
    """
    dino_names = dino_to_dino_encoder_converter().rules[0].pattern  # the DINO ViT names (group 1)
    up = lambda m: f'decode_head.ups.{int(m.group(1)) - 1}.'  # noqa: E731
    rules = [
        # fine-tuned CLIP, both towers: the names of open_clip's CLIP with split q/k/v
        KeyRule(_e(CLIP) + r'(.+)', r'backbone.text_encoder.clip.\1'),
        # frozen RemoteCLIP image tower
        KeyRule(_e(RCLIP) + r'(visual\..+)', r'remote_clip.\1'),
        # frozen RS-DINO
        KeyRule(r'dino_model\.' + dino_names, r'dino.\1'),
        # meta-architecture convs
        KeyRule(rf'upsample([12])\.{_WB}', lambda m: f'decode_head.pre_proj.clip.{int(m.group(1)) - 1}.{m.group(2)}'),
        KeyRule(rf'upsample([12])_remote\.{_WB}',
                lambda m: f'decode_head.pre_proj.rclip.{int(m.group(1)) - 1}.{m.group(2)}'),
        KeyRule(rf'dino_decod_proj([12])\.{_WB}',
                lambda m: f'decode_head.pre_proj.dino.{int(m.group(1)) - 1}.{m.group(2)}'),
        KeyRule(rf'dino_down_sample\.{_WB}', r'neck.dino_proj.\1'),
        # RSKT_Decoder: cost embedding + guidance (neck)
        KeyRule(_e(DEC) + rf'conv1\.{_WB}', r'neck.embed_clip.\1' if separate_fusion else r'neck.embed.\1'),
        KeyRule(_e(DEC) + rf'conv2\.{_WB}', r'neck.embed_dino.\1'),
        KeyRule(_e(DEC) + rf'fusion_corr\.{_WB}', r'neck.embed_fuse.\1'),
        KeyRule(_e(DEC) + rf'guidance_projection\.0\.{_WB}', r'neck.appearance_proj.0.\1'),
        KeyRule(_e(DEC) + rf'text_guidance_projection\.0\.{_WB}', r'neck.text_proj.0.\1'),
        # RSKT_Decoder: RS-Transfer (decode head)
        KeyRule(_e(DEC) + rf'CLIP_decoder_guidance_projection\.([01])\.0\.{_WB}',
                r'decode_head.guidance_proj.clip.\1.0.\2'),
        KeyRule(_e(DEC) + rf'CLIP_decoder_guidance_projection_remote\.([01])\.0\.{_WB}',
                r'decode_head.guidance_proj.rclip.\1.0.\2'),
        KeyRule(_e(DEC) + rf'DINO_decoder_guidance_projection\.([01])\.0\.{_WB}',
                r'decode_head.guidance_proj.dino.\1.0.\2'),
        KeyRule(_e(DEC) + rf'Fusiondecoder([12])\.up\.{_WB}', lambda m: up(m) + f'up.{m.group(2)}'),
        KeyRule(_e(DEC) + rf'Fusiondecoder([12])\.conv\.double_conv\.([0134])\.{_WB}',
                lambda m: up(m) + f'conv.{m.group(2)}.{m.group(3)}'),
        KeyRule(_e(DEC) + rf'head\.{_WB}', r'decode_head.head.\1'),
    ] + _fusion_rules()
    drops = [DropRule(_e(RCLIP) + r'(?!visual\.).*',
                      'RemoteCLIP text tower: never run by RSKT-Seg (only image-tower hooks are used)'),
             DropRule(r'(clip_)?pixel_(mean|std)', 'input normalisation buffers: the data_preprocessor holds mean/std'),
             DropRule(r'dino_model\.head\..*', 'DINO projection head / classifier, not part of the ViT')]
    for d in clip_converter(text_only=False).drops:  # what a TorchScript CLIP export may carry
        drops += [DropRule(_e(p) + f'(?:{d.pattern})', d.reason) for p in (CLIP, RCLIP)]
    return KeyConverter(rules, drops)


# ---------------------------------------------------------------------------------------------- geometry
def release_geometry(sd: Dict[str, torch.Tensor]) -> dict:
    """What the keys say about the release: CLIP architecture, N, rotations x templates, fusion, guidance."""
    idx = sorted({int(m.group(1)) for k in sd for m in [re.match(_e(DEC) + r'layers\.(\d+)\.', k)] if m})
    if idx != list(range(len(idx))):
        raise ConversionError(f'RS-Fusion layer indices are not 0..N-1: {idx}')
    clip_sd = {k[len(CLIP):]: v for k, v in sd.items() if k.startswith(CLIP)}
    vis = infer_clip_cfg(clip_sd).get('vision_cfg', {}) if 'ln_final.weight' in clip_sd else {}
    width, patch = vis.get('width'), vis.get('patch_size')
    arch = {(768, 16): 'ViT-B/16', (1024, 14): 'ViT-L/14'}.get((width, patch), f'ViT (width {width}, patch {patch})')
    conv1 = sd.get(DEC + 'conv1.weight')
    return dict(arch=arch, clip_width=width, embed_dim=int(sd[CLIP + 'text_projection'].shape[1]),
                num_layers=len(idx), cost_channels=None if conv1 is None else int(conv1.shape[1]),
                separate_fusion=DEC + 'conv2.weight' in sd and DEC + 'fusion_corr.weight' in sd,
                remote_clip=any(k.startswith(RCLIP + 'visual.') for k in sd),
                dino=any(k.startswith('dino_model.') for k in sd))


def check_config(config: str, cfg_options: Optional[dict], geo: dict) -> None:
    """Refuse a config whose RSKTSeg does not match the release (N, CLIP width, joint embedding width)."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model = cfg.model
    if model.get('type') != 'RSKTSeg':
        raise ConversionError(f'{config} builds a {model.get("type")}, not RSKTSeg: use a configs/rskt_seg config')
    suggest = RELEASE_CONFIGS.get((geo['arch'], geo['num_layers'])) or ARCH_CONFIGS.get(geo['arch'])
    hint = f' (configs/rskt_seg/{suggest} matches the release)' if suggest else ''
    n_cfg = model.get('neck', {}).get('num_layers', 5)
    if n_cfg != geo['num_layers']:
        raise ConversionError(
            f'the release has N = {geo["num_layers"]} RS-Fusion layers (sem_seg_head.predictor.transformer.layers.*) '
            f'but {osp.basename(config)} sets model.neck.num_layers={n_cfg}: pass --cfg-options '
            f'model.neck.num_layers={geo["num_layers"]}{hint}')
    cw = model.get('decode_head', {}).get('clip_width', 768)
    ce = model.get('neck', {}).get('embed_dim', 512)
    if (cw, ce) != (geo['clip_width'], geo['embed_dim']):
        raise ConversionError(
            f'the release is a {geo["arch"]} CLIP (visual width {geo["clip_width"]}, embedding {geo["embed_dim"]}) but '
            f'{osp.basename(config)} builds width {cw} (model.decode_head.clip_width), embedding {ce} '
            f'(model.neck.embed_dim){hint or ": use the config of the release" + chr(39) + "s CLIP"}')


# ---------------------------------------------------------------------------------------------- conversion
def convert(sd: dict, args) -> tuple:
    """Release ``model`` state dict -> our ``RSKTSeg`` keys + report (also picks/checks the config)."""
    expect_keys(sd, [_e(CLIP) + r'visual\.conv1\.weight', _e(CLIP) + r'text_projection',
                     _e(DEC) + r'layers\.0\.spatial_fusion\.sa\..+', _e(DEC) + r'Fusiondecoder1\..+'],
                'an RSKT-Seg (detectron2 RSKT_Seg) checkpoint', args.src)
    geo = release_geometry(sd)
    num_source = len(sd)
    sd, n_split = split_qkv(sd, CLIP)  # a packed CLIP (not what the release code writes, but harmless)
    sd, n_merged = merge_qkv(sd, RCLIP + 'visual.')
    config = args.config
    release_twin = False
    if config is None:  # pick ours from the release's CLIP and N
        name = RELEASE_CONFIGS.get((geo['arch'], geo['num_layers'])) or ARCH_CONFIGS.get(geo['arch'])
        if name is not None:
            if args.mode == 'release':  # its configs/rskt_seg/rskt-seg-release_* twin sets RELEASE_MODE itself
                name, release_twin = name.replace('rskt-seg_', 'rskt-seg-release_'), True
            config = args.config = osp.join(CONFIG_DIR, name)
            if (geo['arch'], geo['num_layers']) not in RELEASE_CONFIGS:
                args.cfg_options = dict(args.cfg_options or {}, **{'model.neck.num_layers': geo['num_layers']})
    if args.mode == 'release' and not release_twin:
        args.cfg_options = dict(args.cfg_options or {}, **RELEASE_MODE)
    if config and config.lower() != 'none':
        check_config(config, args.cfg_options, geo)
    out, report = convert_state_dict(sd, rskt_release_converter(geo['separate_fusion']), source=args.src)
    report.num_source = num_source
    report.notes.append(f'release: {geo["arch"]} CLIP, N = {geo["num_layers"]} RS-Fusion layers, '
                        f'{geo["cost_channels"]} CLIP cost channels (rotations x templates), cost fusion '
                        f'{"simple_separate" if geo["separate_fusion"] else "single conv1 (neck.embed)"}, '
                        f'RemoteCLIP {"yes" if geo["remote_clip"] else "no"}, DINO {"yes" if geo["dino"] else "no"}')
    if config and config.lower() != 'none':
        opts = ' '.join(f'{k}={v}' for k, v in (args.cfg_options or {}).items())
        shown = osp.relpath(config, REPO_ROOT) if osp.abspath(config).startswith(REPO_ROOT + osp.sep) else config
        report.notes.append(f'evaluate with {shown}'
                            + (f' --cfg-options {opts}' if opts else ''))
    report.notes.append(f'q/k/v: the CLIP towers keep split q/k/v weights ({n_split} packed in_proj_weight split); '
                        f'RemoteCLIP: the q/k/v of {n_merged} attention blocks ({3 * n_merged} source tensors) '
                        f'concatenated into {n_merged} in_proj_weight (exact)')
    report.notes.append('only the detectron2 "model" entry is read: optimizer, scheduler and iteration are not '
                        'carried over (fine-tune from the converted file with a fresh optimizer)')
    if args.mode == 'release':
        report.notes.append('release-compatible mode: DINO position table resized by scale factor, inputs zero-padded '
                            'to a multiple of 32 and not cropped back (--mode paper: the paper-faithful defaults)')
    args.meta.update(release_arch=geo['arch'], num_layers=geo['num_layers'], compat_mode=args.mode,
                     cfg_options=dict(args.cfg_options or {}))
    return out, report


def main(argv=None) -> int:
    p = converter_arg_parser(__doc__)
    p.add_argument('--mode', choices=('release', 'paper'), default='release',
                   help="release (default): the release's DINO position table and input padding (cfg options "
                        'recorded in the output); paper: the configs as they are')
    args = p.parse_args(argv)
    args.meta = dict(source='RSKT-Seg release (LiBingyu01/RSKT-Seg, detectron2)')
    return run_converter(args, convert, 'RSKT-Seg release checkpoint', SOURCE, meta=args.meta)


if __name__ == '__main__':
    sys.exit(main())

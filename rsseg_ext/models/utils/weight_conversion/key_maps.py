"""Key maps from released checkpoints / pretrained weights to our modules' layouts (used by
``tools/model_converters/*``; the rules are data, the mechanics live in :mod:`.rules`).

Every map was written from the public key layout of its source (module attribute names), not from its code:

* torchvision ``convnext_*``: ``features.{0: stem, 2s+1: stage s blocks, 2s: downsample before stage s}``,
  a block is ``block.{0: dwconv, 2: LayerNorm, 3: Linear, 5: Linear}`` + ``layer_scale (C, 1, 1)``,
  ``classifier.{0: LayerNorm2d, 2: Linear}``;
* timm ``convnext_*``: ``stem.{0,1}``, ``stages.s.downsample.{0,1}``, ``stages.s.blocks.j.{conv_dw, norm, mlp.fc1,
  mlp.fc2, gamma}``, ``head.{norm, fc}``;
* mmpretrain ``ConvNeXt``: ``downsample_layers.s.{0,1}``, ``stages.s.j.{depthwise_conv, norm, pointwise_conv1,
  pointwise_conv2, gamma}``, ``norm{s}``;
* D2LS release (``DynamicDictionaryLearning`` under Lightning's ``net.``): ``backbone.0`` = torchvision
  ``features``, ``linear_c.i.proj``, ``aggregator``, ``pe_layer``, ``decoder.{token, feature_modulator,
  interactor, upsampler, output_hypernetwork_mlps, output_head}``;
* LOGCAN++ (rssegmentation, ``net.`` under Lightning): ``backbone`` = torchvision ResNet or the RepViT of the
  RepViT authors' code (``features.{0: stem, i: block}``), ``seghead.{bottleneck1-4, decoder_stage1, center1-4,
  catconv1-3, catconv}``, ``classifier.classifier``;
* RepViT (github.com/THU-MIG/RepViT, copied into rssegmentation): ``features.0.{0,2}`` stem ``Conv2d_BN``s
  (``.c``, ``.bn``), stride-1 blocks ``features.i.token_mixer.{0: RepVGGDW (conv.{c,bn}, conv1, bn), 1: SE (fc1,
  fc2)}`` + ``channel_mixer.m.{0,2}``, stride-2 blocks ``token_mixer.{0: dw Conv2d_BN, 2: 1x1 Conv2d_BN}`` +
  ``channel_mixer.m.{0,2}``; timm ``repvit_*``: ``stem.conv{1,2}``, ``stages.s.downsample.{pre_block,
  spatial_downsample, channel_downsample, ffn.conv{1,2}}``, ``stages.s.blocks.j.{token_mixer, se,
  channel_mixer.conv{1,2}}``;
* DINO ViT: ``cls_token, pos_embed, patch_embed.proj, blocks.i.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1,
  mlp.fc2}, norm`` (timm's ViT uses the same names).
"""
import re
from typing import List, Optional, Sequence

from .rules import DropRule, KeyConverter, KeyRule, conv1x1_to_linear, flatten, linear_to_conv1x1

__all__ = [
    'convnext_torchvision_rules', 'convnext_timm_rules', 'convnext_converter', 'd2ls_release_converter',
    'logcanplus_release_converter', 'repvit_original_rules', 'dino_to_mmpretrain_vit_converter',
    'dino_to_dino_encoder_converter'
]

_WB = r'(weight|bias)'


def _tv_stage(m: 're.Match') -> str:
    """torchvision ``features.{2s+1}.{j}`` -> ``stages.{s}.{j}``."""
    return f'stages.{(int(m.group(1)) - 1) // 2}.{m.group(2)}.'


def convnext_torchvision_rules(src: str = 'features.', dst: str = '') -> List[KeyRule]:
    """torchvision ``ConvNeXt.features`` (under ``src``) -> mmpretrain ``ConvNeXt`` keys (under ``dst``)."""
    s, d = re.escape(src), dst
    block = {0: 'depthwise_conv', 2: 'norm', 3: 'pointwise_conv1', 5: 'pointwise_conv2'}
    rules = [
        KeyRule(rf'{s}0\.([01])\.{_WB}', rf'{d}downsample_layers.0.\1.\2'),
        KeyRule(rf'{s}([246])\.([01])\.{_WB}', lambda m: f'{d}downsample_layers.{int(m.group(1)) // 2}.'
                f'{m.group(2)}.{m.group(3)}'),
        KeyRule(rf'{s}([1357])\.(\d+)\.layer_scale', lambda m: d + _tv_stage(m) + 'gamma', flatten),
    ]
    for idx, name in block.items():
        rules.append(KeyRule(rf'{s}([1357])\.(\d+)\.block\.{idx}\.{_WB}',
                             lambda m, name=name: d + _tv_stage(m) + f'{name}.{m.group(3)}'))
    return rules


def convnext_timm_rules(src: str = '', dst: str = '') -> List[KeyRule]:
    """timm ``ConvNeXt`` -> mmpretrain ``ConvNeXt`` keys (conv-MLP variants' 1x1 convs become Linear weights)."""
    s, d = re.escape(src), dst
    return [
        KeyRule(rf'{s}stem\.([01])\.{_WB}', rf'{d}downsample_layers.0.\1.\2'),
        KeyRule(rf'{s}stages\.([123])\.downsample\.([01])\.{_WB}', rf'{d}downsample_layers.\1.\2.\3'),
        KeyRule(rf'{s}stages\.(\d)\.blocks\.(\d+)\.conv_dw\.{_WB}', rf'{d}stages.\1.\2.depthwise_conv.\3'),
        KeyRule(rf'{s}stages\.(\d)\.blocks\.(\d+)\.norm\.{_WB}', rf'{d}stages.\1.\2.norm.\3'),
        KeyRule(rf'{s}stages\.(\d)\.blocks\.(\d+)\.mlp\.fc1\.{_WB}', rf'{d}stages.\1.\2.pointwise_conv1.\3',
                conv1x1_to_linear),
        KeyRule(rf'{s}stages\.(\d)\.blocks\.(\d+)\.mlp\.fc2\.{_WB}', rf'{d}stages.\1.\2.pointwise_conv2.\3',
                conv1x1_to_linear),
        KeyRule(rf'{s}stages\.(\d)\.blocks\.(\d+)\.gamma', rf'{d}stages.\1.\2.gamma', flatten),
    ]


def convnext_converter(layout: str, prefix: str = 'backbone.', head: bool = True) -> KeyConverter:
    """A torchvision (``layout='torchvision'``) or timm (``'timm'``) ConvNeXt classifier -> an mmpretrain
    ``ImageClassifier`` layout: ``{prefix}...`` backbone keys, the head's LayerNorm as ``{prefix}norm3`` (what
    mmpretrain's own ConvNeXt checkpoints do) and the classifier as ``head.fc`` (``head=False`` drops both)."""
    if layout == 'torchvision':
        rules = convnext_torchvision_rules('features.', prefix)
        head_norm, head_fc = r'classifier\.0\.(weight|bias)', r'classifier\.2\.(weight|bias)'
    elif layout == 'timm':
        rules = convnext_timm_rules('', prefix)
        head_norm, head_fc = r'head\.norm\.(weight|bias)', r'head\.fc\.(weight|bias)'
    else:
        raise ValueError(f"layout must be 'torchvision' or 'timm', got {layout!r}")
    drops = []
    if head:
        rules += [KeyRule(head_norm, rf'{prefix}norm3.\1'), KeyRule(head_fc, r'head.fc.\1')]
    else:
        drops += [DropRule(head_norm, 'classification head norm (--no-head)'),
                  DropRule(head_fc, 'classification head (--no-head)')]
    # timm's pre-logits norm_pre is an Identity for ConvNeXt (no keys); a non-empty one is reported as unmatched
    return KeyConverter(rules, drops)


def d2ls_release_converter(legacy_sam_blocks: bool = False, net_prefix: str = 'net.',
                           last_line: bool = False) -> KeyConverter:
    """D2LS release (``DynamicDictionaryLearning``, torchvision ConvNeXt) -> ``EncoderDecoder(backbone=ConvNeXt*,
    decode_head=D2LSHead)``.

    Linear layers of the release that act per pixel (``linear_c``, the modulator's ``mlp1``) become our 1x1
    convs; the modulator's 1x1 convs on pooled vectors become our Linears. The interactor blocks' ``self_attn``,
    ``norm1``, ``mlp`` and ``norm3`` are never run by the release: dropped unless ``legacy_sam_blocks`` (then they
    go to the modules ``D2LSHead(legacy_sam_blocks=True)`` builds). ``last_line``: the release's dictionary-free
    variant, whose ``output_head`` is a 1x1 conv (our ``conv_seg``) and whose dictionary, modulator and interactor
    are built but never run (dropped).
    """
    p = re.escape(net_prefix)
    h = 'decode_head.'
    dec = rf'{p}decoder\.'
    inter = rf'{dec}interactor\.'
    attn = r'(cross_attn_token_to_image|cross_attn_image_to_token)\.(q_proj|k_proj|v_proj|out_proj)'
    rules = convnext_torchvision_rules(f'{net_prefix}backbone.0.', 'backbone.') + [
        KeyRule(rf'{p}linear_c\.(\d)\.proj\.weight', rf'{h}aggregator.projs.\1.weight', linear_to_conv1x1),
        KeyRule(rf'{p}linear_c\.(\d)\.proj\.bias', rf'{h}aggregator.projs.\1.bias'),
        KeyRule(rf'{p}aggregator\.weight', rf'{h}aggregator.fuse.weight'),
        KeyRule(rf'{p}pe_layer\.positional_encoding_gaussian_matrix', rf'{h}pe.gaussian_matrix'),
        KeyRule(rf'{dec}token\.basic_queries\.weight', rf'{h}static_dict.weight'),
        KeyRule(rf'{dec}token\.token_mlp\.{_WB}', rf'{h}token_mlp.\1'),
        KeyRule(rf'{dec}feature_modulator\.mlp1\.proj\.weight', rf'{h}modulator.proj.weight', linear_to_conv1x1),
        KeyRule(rf'{dec}feature_modulator\.mlp1\.proj\.bias', rf'{h}modulator.proj.bias'),
        KeyRule(rf'{dec}feature_modulator\.gmp_branch\.1\.weight', rf'{h}modulator.max_fc.weight',
                conv1x1_to_linear),
        KeyRule(rf'{dec}feature_modulator\.gmp_branch\.1\.bias', rf'{h}modulator.max_fc.bias'),
        KeyRule(rf'{dec}feature_modulator\.gap_branch\.1\.weight', rf'{h}modulator.avg_fc.weight',
                conv1x1_to_linear),
        KeyRule(rf'{dec}feature_modulator\.gap_branch\.1\.bias', rf'{h}modulator.avg_fc.bias'),
        KeyRule(rf'{dec}feature_modulator\.mlp2\.0\.{_WB}', rf'{h}modulator.fc1.\1'),
        KeyRule(rf'{dec}feature_modulator\.mlp2\.2\.{_WB}', rf'{h}modulator.fc2.\1'),
        KeyRule(rf'{inter}layers\.(\d+)\.{attn}\.{_WB}', rf'{h}interactor.blocks.\1.\2.\3.\4'),
        KeyRule(rf'{inter}layers\.(\d+)\.(norm2|norm4)\.{_WB}', rf'{h}interactor.blocks.\1.\2.\3'),
        KeyRule(rf'{inter}final_attn_token_to_image\.(q_proj|k_proj|v_proj|out_proj)\.{_WB}',
                rf'{h}interactor.final_attn_token_to_image.\1.\2'),
        KeyRule(rf'{inter}norm_final_attn\.{_WB}', rf'{h}interactor.norm_final.\1'),
        KeyRule(rf'{dec}upsampler\.1\.{_WB}', rf'{h}upsampler.norm.\1'),
        # MLP.layers.{0,1,2} -> HyperMLP = Sequential(Linear, ReLU, Linear, ReLU, Linear)
        KeyRule(rf'{dec}output_hypernetwork_mlps\.layers\.(\d+)\.{_WB}',
                lambda m: f'{h}hyper_mlp.{2 * int(m.group(1))}.{m.group(2)}'),
        KeyRule(rf'{dec}output_head\.{_WB}', rf'{h}token_to_class.\1'),  # has_conv releases only
    ]
    if last_line:
        keep = [r for r in rules if not r.pattern.startswith(dec) or r.pattern.startswith(rf'{dec}upsampler')]
        keep.append(KeyRule(rf'{dec}output_head\.{_WB}', rf'{h}conv_seg.\1'))
        drops = [DropRule(rf'{p}backbone\.[12]\..*', 'torchvision avgpool/classifier, unused by D2LS'),
                 DropRule(rf'{dec}(token|feature_modulator|interactor)\..*',
                          'dictionary / modulator / interactor the last_line release builds but never runs')]
        return KeyConverter(keep, drops)
    sam = rf'{inter}layers\.(\d+)\.(self_attn\.(q_proj|k_proj|v_proj|out_proj)|norm1|norm3|mlp\.lin[12])\.{_WB}'
    drops = [DropRule(rf'{p}backbone\.1\..*', 'torchvision avgpool (no parameters expected)'),
             DropRule(rf'{p}backbone\.2\..*', 'torchvision classifier, unused by D2LS')]
    if legacy_sam_blocks:
        rules.append(KeyRule(sam, lambda m: f'{h}interactor.blocks.{m.group(1)}.' + (
            m.group(2).replace('mlp.lin1', 'mlp.0').replace('mlp.lin2', 'mlp.2')) + f'.{m.group(4)}'))
    else:
        drops.append(DropRule(sam, 'self-attention/MLP the release builds but never runs (--legacy-sam-blocks '
                              'keeps them)'))
    # the Lightning module's loss holds no tensors; anything else outside net. is reported as unmatched
    return KeyConverter(rules, drops)


_RV_BLOCK = [  # stride-1 block of the original RepViT -> timm's RepViTBlock
    (r'token_mixer\.0\.conv\.(c|bn)\.(.+)', r'token_mixer.conv.\2.\3'),
    (r'token_mixer\.0\.(conv1|bn)\.(.+)', r'token_mixer.\2.\3'),
    (r'token_mixer\.1\.(fc1|fc2)\.(.+)', r'se.\2.\3'),
    (r'channel_mixer\.m\.0\.(.+)', r'channel_mixer.conv1.\2'),
    (r'channel_mixer\.m\.2\.(.+)', r'channel_mixer.conv2.\2'),
]
_RV_DOWN = [  # stride-2 block -> the rest of timm's RepVitDownsample (its pre_block is the block before)
    (r'token_mixer\.0\.(.+)', r'spatial_downsample.\2'),
    (r'token_mixer\.2\.(.+)', r'channel_downsample.\2'),
    (r'channel_mixer\.m\.0\.(.+)', r'ffn.conv1.\2'),
    (r'channel_mixer\.m\.2\.(.+)', r'ffn.conv2.\2'),
]


def repvit_original_rules(keys: Sequence[str], src: str = 'features.', dst: str = '') -> List[KeyRule]:
    """The original RepViT layout (``features.i``, one flat list) -> timm's ``RepVit`` (``stem``, ``stages``).

    The stride-2 blocks are found from ``keys`` (their token mixer is a bare ``Conv2d_BN``: ``token_mixer.0.c``);
    the block just before each one is timm's ``stages[s].downsample.pre_block``, the others are numbered per
    stage. Works for any depths (M0.9 ... M2.3, or tiny test models).
    """
    s = re.escape(src)
    idx = sorted({int(m.group(1)) for k in keys for m in [re.fullmatch(rf'{s}(\d+)\.token_mixer\.0\.c\..+', k)] if m})

    def place(i: int) -> Optional[str]:
        if i in idx:
            return f'stages.{idx.index(i) + 1}.downsample.'
        if i + 1 in idx:
            return f'stages.{idx.index(i + 1) + 1}.downsample.pre_block.'
        st = sum(d < i for d in idx)
        first = idx[st - 1] + 1 if st else 1
        return f'stages.{st}.blocks.{i - first}.'

    def rule(i_pat: str, pat: str, rep: str) -> KeyRule:
        return KeyRule(rf'{s}({i_pat})\.{pat}', lambda m: dst + place(int(m.group(1))) + m.expand(rep))

    down = '|'.join(str(i) for i in idx) or '-1'
    block = rf'(?!(?:{down})\.)[1-9]\d*'  # any other block index
    return ([KeyRule(rf'{s}0\.0\.(c|bn)\.(.+)', rf'{dst}stem.conv1.\1.\2'),
             KeyRule(rf'{s}0\.2\.(c|bn)\.(.+)', rf'{dst}stem.conv2.\1.\2')]
            + [rule(down, pat, rep) for pat, rep in _RV_DOWN] + [rule(block, pat, rep) for pat, rep in _RV_BLOCK])


def logcanplus_release_converter(net_prefix: str = 'net.', keys: Sequence[str] = ()) -> KeyConverter:
    """LOGCAN++ release (rssegmentation ``myModel``: torchvision ResNet + ``LoGCANPlus_Head`` + ``Base_Classifier``)
    -> ``EncoderDecoder(backbone=ResNet (V1b: 7x7 stem), decode_head=LOGCANPlusHead)``.

    The release's top-down ``catconv1/2/3`` fuse levels 3/2/1 (0-based 2/1/0); ``center1..4`` are the LCAs of
    levels 1..4; its ``q``/``k`` Linears on channels-last maps are our 1x1 convs ``query``/``key``. A RepViT
    backbone (``backbone.features.*`` among ``keys``) goes to our ``RepViT`` backbone (timm's layout).
    """
    p = re.escape(net_prefix)
    h = 'decode_head.'
    sh = rf'{p}seghead\.'
    cbr = r'\.0\.weight'  # conv_3x3 = Sequential(Conv2d(bias=False), BatchNorm2d, ReLU)
    bn = r'\.1\.(weight|bias|running_mean|running_var|num_batches_tracked)'
    rules = repvit_original_rules(keys, f'{net_prefix}backbone.features.', 'backbone.') + [
        # torchvision ResNet and mmseg ResNet (V1b, style='pytorch') share the key layout
        KeyRule(rf'{p}backbone\.(conv1\.weight|bn1\..*|layer[1-4]\..*)', r'backbone.\1'),
        KeyRule(rf'{sh}bottleneck([1-4]){cbr}', lambda m: f'{h}bottlenecks.{int(m.group(1)) - 1}.conv.weight'),
        KeyRule(rf'{sh}bottleneck([1-4]){bn}', lambda m: f'{h}bottlenecks.{int(m.group(1)) - 1}.bn.{m.group(2)}'),
        KeyRule(rf'{sh}decoder_stage1\.{_WB}', rf'{h}pre_cls.\1'),
        KeyRule(rf'{sh}catconv([1-3]){cbr}', lambda m: f'{h}fuse_convs.{3 - int(m.group(1))}.conv.weight'),
        KeyRule(rf'{sh}catconv([1-3]){bn}', lambda m: f'{h}fuse_convs.{3 - int(m.group(1))}.bn.{m.group(2)}'),
        KeyRule(rf'{sh}catconv{cbr}', rf'{h}out_conv.conv.weight'),
        KeyRule(rf'{sh}catconv{bn}', rf'{h}out_conv.bn.\1'),
        KeyRule(rf'{p}classifier\.classifier\.{_WB}', rf'{h}conv_seg.\1'),
    ]
    lca = rf'{sh}center([1-4])\.'

    def lv(m: 're.Match') -> str:
        return f'{h}lcas.{int(m.group(1)) - 1}.'

    rules += [
        KeyRule(rf'{lca}feat_decoder\.{_WB}', lambda m: lv(m) + f'feat_decoder.{m.group(2)}'),
        KeyRule(rf'{lca}sampling_(offsets|scales|angles)\.2\.{_WB}',
                lambda m: lv(m) + f'sampling_{m.group(2)}.1.{m.group(3)}'),
        KeyRule(rf'{lca}q\.weight', lambda m: lv(m) + 'query.weight', linear_to_conv1x1),
        KeyRule(rf'{lca}q\.bias', lambda m: lv(m) + 'query.bias'),
        KeyRule(rf'{lca}k\.weight', lambda m: lv(m) + 'key.weight', linear_to_conv1x1),
        KeyRule(rf'{lca}k\.bias', lambda m: lv(m) + 'key.bias'),
        KeyRule(rf'{lca}(v|out_project)\.{_WB}',
                lambda m: lv(m) + ('value' if m.group(2) == 'v' else 'out_project') + f'.{m.group(3)}'),
        KeyRule(rf'{lca}cat_conv\.([02]){cbr}', lambda m: lv(m) + f'cat_conv.{m.group(2)}.conv.weight'),
        KeyRule(rf'{lca}cat_conv\.([02]){bn}', lambda m: lv(m) + f'cat_conv.{m.group(2)}.bn.{m.group(3)}'),
    ]
    drops = [DropRule(r'backbone\.fc\..*|net\.backbone\.fc\..*', 'ImageNet classifier of the ResNet, unused')]
    return KeyConverter(rules, drops)


def _dino_rules(src_prefix: str = '') -> List[KeyRule]:
    s = re.escape(src_prefix)
    return [
        KeyRule(rf'{s}(cls_token|pos_embed)', r'\1'),
        KeyRule(rf'{s}patch_embed\.proj\.{_WB}', r'patch_embed.projection.\1'),
        KeyRule(rf'{s}blocks\.(\d+)\.norm1\.{_WB}', r'layers.\1.ln1.\2'),
        KeyRule(rf'{s}blocks\.(\d+)\.attn\.(qkv|proj)\.{_WB}', r'layers.\1.attn.\2.\3'),
        KeyRule(rf'{s}blocks\.(\d+)\.norm2\.{_WB}', r'layers.\1.ln2.\2'),
        KeyRule(rf'{s}blocks\.(\d+)\.mlp\.fc1\.{_WB}', r'layers.\1.ffn.layers.0.0.\2'),
        KeyRule(rf'{s}blocks\.(\d+)\.mlp\.fc2\.{_WB}', r'layers.\1.ffn.layers.1.\2'),
        KeyRule(rf'{s}norm\.{_WB}', r'ln1.\1'),
    ]


_DINO_DROPS = [DropRule(r'head\..*', 'DINO projection head / classifier, not part of the ViT')]


def dino_to_mmpretrain_vit_converter(prefix: str = 'backbone.') -> KeyConverter:
    """DINO/timm ViT -> mmpretrain ``VisionTransformer`` (``final_norm=True`` puts the last norm in ``ln1``),
    under ``prefix`` (``'backbone.'``: what ``init_cfg=dict(type='LocalPretrained', prefix='backbone.')``
    expects)."""
    return KeyConverter(_dino_rules(), _DINO_DROPS, out_prefix=prefix)


def dino_to_dino_encoder_converter(prefix: str = '') -> KeyConverter:
    """DINO/timm ViT -> rsseg_ext ``DINOViTEncoder`` (the same names: only validated and re-prefixed)."""
    names = r'(cls_token|pos_embed|patch_embed\.proj\.(weight|bias)|blocks\.\d+\.(norm1|norm2|attn\.qkv|attn\.proj|' \
            r'mlp\.fc1|mlp\.fc2)\.(weight|bias)|norm\.(weight|bias))'
    return KeyConverter([KeyRule(names, r'\1')], _DINO_DROPS, out_prefix=prefix)

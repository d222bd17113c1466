"""Weight conversion: third-party checkpoints and released models into our key layouts.

* :mod:`.rules` -- the mechanics: :class:`KeyRule` / :class:`DropRule` / :class:`KeyConverter`,
  :func:`convert_state_dict` and its :class:`ConversionReport`;
* :mod:`.key_maps` -- the rules as data, one map per source layout (torchvision/timm ConvNeXt, the D2LS and
  LOGCAN++ releases, RepViT, DINO);
* :mod:`.qkv` -- packed ``nn.MultiheadAttention.in_proj_weight`` <-> separate q/k/v weights (modules and state
  dicts).

Loading weights into a model is :mod:`..weight_loading` (the one loader); the command line of
``tools/model_converters/*`` is ``tools/model_converters/_cli.py``.
"""
from .key_maps import (convnext_converter, convnext_timm_rules, convnext_torchvision_rules, d2ls_release_converter,
                       dino_to_dino_encoder_converter, dino_to_mmpretrain_vit_converter, logcanplus_release_converter,
                       repvit_original_rules)
from .qkv import (QKV_NAMES, merge_in_proj, set_qv_trainable, split_in_proj, split_in_proj_state_dict,
                  split_mha_in_proj)
from .rules import (ConversionError, ConversionReport, DropRule, KeyConverter, KeyRule, check_against_model,
                    conv1x1_to_linear, convert_state_dict, expect_keys, flatten, linear_to_conv1x1)

__all__ = [
    'ConversionError', 'ConversionReport', 'DropRule', 'KeyConverter', 'KeyRule', 'check_against_model',
    'conv1x1_to_linear', 'convert_state_dict', 'expect_keys', 'flatten', 'linear_to_conv1x1', 'QKV_NAMES',
    'merge_in_proj', 'set_qv_trainable', 'split_in_proj', 'split_in_proj_state_dict', 'split_mha_in_proj',
    'convnext_converter', 'convnext_timm_rules', 'convnext_torchvision_rules', 'd2ls_release_converter',
    'dino_to_dino_encoder_converter', 'dino_to_mmpretrain_vit_converter', 'logcanplus_release_converter',
    'repvit_original_rules'
]

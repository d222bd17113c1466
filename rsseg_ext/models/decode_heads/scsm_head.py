"""SCSM decode head: Semantic Mask Generation + Scene-Coupling Attention on overlapping blocks.

X. Ma et al., "A Novel Scene Coupling Semantic Mask Network for Remote Sensing Image Segmentation", ISPRS J. 2025
(arXiv:2501.13130). The authors released no SCSM code; this is a reconstruction from the paper
(docs/methods/scsm.md lists every inferred choice and the argument that switches it).
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from torch import Tensor

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS
from mmseg.utils import ConfigType

from ..utils.block_ops import BlockPartition
from ..utils.scene_coupling_attention import SceneCouplingAttention
from ..utils.semantic_mask import SemanticMaskGenerator
from .aux_logits_mixin import AuxLogitsLossMixin

KEY_SOURCES = ('local_mask', 'global_mask', 'feature')
VALUE_SOURCES = ('global_mask', 'feature')


@MODELS.register_module()
class SCSMContext(nn.Module):
    """SCSM's context module (Table 7's "SMG+CCA"): everything between the backbone feature and the classifier.

    ``x (B, C_in, h, w)`` ->

    1. ``F = ReLU(BN(Conv3x3(x)))`` ``(B, C, h, w)`` (Eq. 6);
    2. ``D = Conv1x1(Drop(ReLU(BN(Conv1x1(F)))))`` ``(B, K, h, w)``, the pre-classification;
    3. ``M_g = SMG(F, D)`` (Eq. 27), split to blocks with ``F`` and ``D`` (Eq. 7);
    4. ``M_l = SMG(F_l, D_l)`` per block (Eq. 28);
    5. ``a_l = SCA(F_l, M_l, M_g,l)`` (Eq. 29), restored to ``(B, C, h, w)`` (overlaps averaged);
    6. ``o = ReLU(BN(Conv(cat[F, a])))`` ``(B, C, h, w)``.

    Returns ``(o, D)``. See :class:`SCSMHead` for the arguments.
    """

    def __init__(self,
                 in_channels: int,
                 channels: int,
                 num_classes: int,
                 transform_channels: int = 64,
                 pre_cls_channels: int = 64,
                 pre_cls_dropout: float = 0.1,
                 block_size: int = 21,
                 use_semantic_masks: bool = True,
                 key_source: str = 'local_mask',
                 value_source: str = 'global_mask',
                 center_norm: str = 'softmax',
                 fusion_kernel: int = 1,
                 norm_cfg: Optional[dict] = dict(type='BN', requires_grad=True),
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 conv_cfg: Optional[dict] = None,
                 **attention_kwargs) -> None:
        super().__init__()
        if not use_semantic_masks:
            # "semantic masks off": keys and values are the features themselves (vanilla attention inputs)
            key_source = value_source = 'feature'
        if key_source not in KEY_SOURCES:
            raise ValueError(f'key_source must be one of {KEY_SOURCES}, got {key_source!r}')
        if value_source not in VALUE_SOURCES:
            raise ValueError(f'value_source must be one of {VALUE_SOURCES}, got {value_source!r}')
        self.key_source, self.value_source = key_source, value_source
        self.bottleneck = ConvModule(in_channels, channels, 3, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                     act_cfg=act_cfg)
        self.pre_cls = nn.Sequential(
            ConvModule(channels, pre_cls_channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg),
            nn.Dropout2d(pre_cls_dropout), nn.Conv2d(pre_cls_channels, num_classes, 1))
        self.smg = SemanticMaskGenerator(center_norm)
        self.partition = BlockPartition(block_size)
        self.attention = SceneCouplingAttention(channels, transform_channels, block_size=block_size,
                                                norm_cfg=norm_cfg, act_cfg=act_cfg, **attention_kwargs)
        self.fusion = ConvModule(2 * channels, channels, fusion_kernel, padding=fusion_kernel // 2,
                                 conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        feats = self.bottleneck(x)
        pre_logits = self.pre_cls(feats)
        h, w = feats.shape[-2:]
        split = self.partition.split
        feats_l = split(feats)
        global_l = None
        if 'global_mask' in (self.key_source, self.value_source):
            global_l = split(self.smg(feats, pre_logits))  # Eq. 7: M_g on the whole map, then split
        if self.key_source == 'local_mask':
            x_k = self.smg(feats_l, split(pre_logits))  # Eq. 28: centres restricted to each block
        elif self.key_source == 'global_mask':
            x_k = global_l
        else:
            x_k = feats_l
        x_v = global_l if self.value_source == 'global_mask' else feats_l
        att = self.partition.restore(self.attention(feats_l, x_k, x_v), (h, w))
        return self.fusion(torch.cat([feats, att], dim=1)), pre_logits


@MODELS.register_module()
class SCSMHead(AuxLogitsLossMixin, BaseDecodeHead):
    """Scene Coupling Semantic Mask head (SCSM).

    ``inputs[in_index] (B, in_channels, h, w)`` -> ``(seg_logits, pre_logits)``, both ``(B, K, h, w)``:
    ``seg_logits = conv_seg(dropout(o))`` with ``o, pre_logits = self.context(x)`` (:class:`SCSMContext`).
    Training supervises both (Eqs. 30-31): ``loss_decode`` on the main logits (CE, weight 1.0) and
    ``pre_loss_decode`` on the pre-classification (CE, weight 0.8), reported as ``pre.<loss_name>``; the FCN
    auxiliary head (0.4) is the segmentor's ``auxiliary_head``. Inference uses the main logits only.

    Args:
        transform_channels: attention width ``d`` (64).
        pre_cls_channels: hidden width of the pre-classifier (``C/2``).
        pre_cls_dropout: dropout inside the pre-classifier.
        block_size: block side ``P`` in feature pixels (21; Table 5 tests 7/14/21/28). Blocks overlap so the map
            splits into whole blocks.
        use_semantic_masks: ``False`` -> key = value = features (vanilla attention inputs, "Base+SCA"/"GA").
        key_source: ``'local_mask'`` (G+L, default), ``'global_mask'`` (G+G) or ``'feature'``.
        value_source: ``'global_mask'`` (default) or ``'feature'``.
        center_norm: class-centre weights, ``'softmax'`` over pixels (default) or ``'hard_mean'``.
        fusion_kernel: kernel of the fusion conv after ``cat[F, a]`` (1, matching Table 7; SACANet uses 3).
        use_dct / num_freqs / dct_reduction / dct_position: DCT scene representation (on / 16 / 16 / 'pre_proj').
        pos_encoding: ``'rope+'`` (default), ``'rope_identical'``, ``'none'``, ``'sincos'``, ``'cpe'``.
        rope_base: ROPE+ base (10000).
        num_heads: attention heads (1).
        query_num_convs / key_num_convs / value_num_convs: projection depths (2 / 2 / 1).
        pre_loss_decode: loss config(s) of the pre-classification.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels``, ``channels``, ``num_classes``, ...).
    """

    def __init__(self,
                 transform_channels: int = 64,
                 pre_cls_channels: int = 64,
                 pre_cls_dropout: float = 0.1,
                 block_size: int = 21,
                 use_semantic_masks: bool = True,
                 key_source: str = 'local_mask',
                 value_source: str = 'global_mask',
                 center_norm: str = 'softmax',
                 fusion_kernel: int = 1,
                 use_dct: bool = True,
                 num_freqs: int = 16,
                 dct_reduction: int = 16,
                 dct_position: str = 'pre_proj',
                 pos_encoding: str = 'rope+',
                 rope_base: float = 10000.0,
                 num_heads: int = 1,
                 query_num_convs: int = 2,
                 key_num_convs: int = 2,
                 value_num_convs: int = 1,
                 pre_loss_decode: Union[ConfigType, Sequence[ConfigType]] = dict(
                     type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.8),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if self.input_transform is not None:
            raise ValueError('SCSMHead uses one feature level (in_index=int); input_transform must be None, '
                             f'got {self.input_transform!r}')
        self.context = SCSMContext(
            self.in_channels, self.channels, self.out_channels,
            transform_channels=transform_channels, pre_cls_channels=pre_cls_channels,
            pre_cls_dropout=pre_cls_dropout, block_size=block_size, use_semantic_masks=use_semantic_masks,
            key_source=key_source, value_source=value_source, center_norm=center_norm,
            fusion_kernel=fusion_kernel, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg, conv_cfg=self.conv_cfg,
            use_dct=use_dct, num_freqs=num_freqs, dct_reduction=dct_reduction, dct_position=dct_position,
            pos_encoding=pos_encoding, rope_base=rope_base, num_heads=num_heads,
            query_num_convs=query_num_convs, key_num_convs=key_num_convs, value_num_convs=value_num_convs)
        self._add_aux_logits('pre_loss_decode', pre_loss_decode, prefix='pre')

    def forward(self, inputs: List[Tensor]) -> Tuple[Tensor, Tensor]:
        """``inputs``: backbone levels -> ``(seg_logits, pre_logits)``, each ``(B, K, h, w)``."""
        x = self._transform_inputs(inputs)
        feats, pre_logits = self.context(x)
        return self.cls_seg(feats), pre_logits

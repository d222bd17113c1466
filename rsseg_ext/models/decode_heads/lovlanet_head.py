"""LoVLANet decoder: spatial feature fusion (SFF) + cross-modal feature alignment (CMFA) cosine classifier.

Paper Sec. 2.2 (SFF and CMFA modules); choices marked inferred: see docs/methods/lovlanet.md:

    P4 = F4;  P_l = F_l + up(P_{l+1})            (top-down, additive; F1..F4 at strides 4/8/16/32 from the neck)
    P1 = ConvModule3x3(P1)                       ('out_conv', inferred)
    V^ = P1 / |P1|_2                             (B, D, H/4, W/4)
    S  = tau * <V^, T^_k>                        (B, K, H/4, W/4), tau = exp(logit_scale) <= 100, learnable
    L  = CE(up(S), y) + lambda * L_align(V^, T^, y)

T^ (K, D) comes from the shared :class:`OpenCLIPTextEncoder` (frozen, cached per vocabulary). The text embeddings
do not enter the visual encoder (paper Sec. 2.2). No ``conv_seg``: the classifier is the text anchors.
"""
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList

__all__ = ['LoVLANetHead']


@MODELS.register_module()
class LoVLANetHead(BaseDecodeHead):
    """SFF decoder with a text-anchored cosine classifier.

    Args:
        text_encoder: config of the text tower (``OpenCLIPTextEncoder``); its ``embed_dim`` is D.
        class_names: the vocabulary (one prompt name per class, dataset order). ``None``: taken from the dataset
            metainfo at run time (:class:`rsseg_ext.engine.hooks.VocabularyHook` calls :meth:`set_class_names`).
        out_conv: the 3x3 ConvModule (BN, ReLU) on P1 (inferred; docs/methods/lovlanet.md).
        logit_scale_init: initial tau (1/0.07); ``'text_encoder'`` copies the CLIP checkpoint's ``logit_scale``
            after the text weights are loaded.
        learnable_logit_scale: train tau (else a buffer).
        logit_scale_max: clamp of tau (CLIP: 100).
        loss_align: config of the alignment loss (``VLAlignLoss``), ``None`` disables it.
        Other args: :class:`BaseDecodeHead` (``in_channels=[C]*4``, ``in_index=[0,1,2,3]``,
            ``input_transform='multiple_select'``, ``channels`` = SFF width; a 1x1 ``proj`` maps it to D if they
            differ).

    Shapes: inputs ``[(B, C, H/4, W/4), (B, C, H/8, W/8), (B, C, H/16, W/16), (B, C, H/32, W/32)]`` ->
    ``forward`` logits ``(B, K, H/4, W/4)``.
    """

    def __init__(self,
                 text_encoder: ConfigType,
                 class_names: Optional[Sequence[str]] = None,
                 out_conv: bool = True,
                 logit_scale_init=1 / 0.07,
                 learnable_logit_scale: bool = True,
                 logit_scale_max: float = 100.,
                 loss_align: Optional[ConfigType] = dict(type='VLAlignLoss', mode='prototype', temperature=0.07,
                                                         loss_weight=1.0),
                 init_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        kwargs.setdefault('input_transform', 'multiple_select')
        super().__init__(init_cfg=init_cfg, **kwargs)
        del self.conv_seg  # the text anchors are the classifier (an unused conv_seg breaks DDP and the counts)
        self.text_encoder = MODELS.build(text_encoder)
        self.embed_dim = int(self.text_encoder.embed_dim)
        self.class_names: Optional[Tuple[str, ...]] = None
        if class_names is not None:
            self.set_class_names(class_names)
        self.out_conv = ConvModule(self.channels, self.channels, 3, padding=1, conv_cfg=self.conv_cfg,
                                   norm_cfg=self.norm_cfg, act_cfg=self.act_cfg) if out_conv else nn.Identity()
        # SFF fuses maps of equal width: lateral 1x1 convs only when the neck width differs (not with the defaults)
        in_chs = self.in_channels if isinstance(self.in_channels, (list, tuple)) else [self.in_channels]
        self.lateral = nn.ModuleList(
            nn.Identity() if c == self.channels else nn.Conv2d(c, self.channels, 1) for c in in_chs)
        self.proj = nn.Identity() if self.channels == self.embed_dim else nn.Conv2d(self.channels, self.embed_dim, 1)
        self.logit_scale_max = logit_scale_max
        self._scale_from_text = logit_scale_init == 'text_encoder'
        init = math.log(1 / 0.07 if self._scale_from_text else float(logit_scale_init))
        if learnable_logit_scale:
            self.logit_scale = nn.Parameter(torch.tensor(init))
        else:
            self.register_buffer('logit_scale', torch.tensor(init))
        self.loss_align = MODELS.build(loss_align) if loss_align is not None else None

    # ------------------------------------------------------------------ vocabulary
    def set_class_names(self, class_names: Sequence[str]) -> None:
        """Set the vocabulary; the text cache is keyed by the prompts, so a new vocabulary is re-encoded."""
        class_names = tuple(class_names)
        if len(class_names) != self.num_classes:
            raise ValueError(f'LoVLANetHead: num_classes={self.num_classes} but {len(class_names)} class names '
                             f'{class_names}; the foreground-only protocol has no background class.')
        self.class_names = class_names

    def text_embeddings(self) -> Tensor:
        """``(K, D)`` L2-normalised class anchors T^."""
        if self.class_names is None:
            raise RuntimeError('LoVLANetHead has no class names: set decode_head.class_names in the config or add '
                               "custom_hooks=[dict(type='VocabularyHook')] to read them from the dataset.")
        return self.text_encoder(self.class_names)

    def init_weights(self) -> None:
        super().init_weights()  # also loads the text checkpoint (OpenCLIPTextEncoder.init_weights)
        if self._scale_from_text:
            scale = getattr(self.text_encoder.clip, 'logit_scale', None)
            if scale is not None:
                with torch.no_grad():
                    self.logit_scale.copy_(scale.detach().reshape(()).to(self.logit_scale))

    # ------------------------------------------------------------------ forward
    @property
    def tau(self) -> Tensor:
        """tau = exp(logit_scale), clamped at ``logit_scale_max``."""
        return self.logit_scale.clamp(max=math.log(self.logit_scale_max)).exp()

    def _forward_feats(self, inputs: List[Tensor]) -> Tuple[Tensor, Tensor, Tensor]:
        """Returns ``S (B, K, H/4, W/4)``, ``V^ (B, D, H/4, W/4)`` and ``T^ (K, D)``."""
        feats = self._transform_inputs(inputs)
        feats = [lat(f) for lat, f in zip(self.lateral, feats)]
        p = feats[-1]
        for f in reversed(feats[:-1]):  # top-down: upsample the deeper map, add the shallower one
            p = f + resize(p, size=f.shape[2:], mode='bilinear', align_corners=self.align_corners)
        p = self.proj(self.out_conv(p))
        v = F.normalize(p, dim=1, eps=1e-6)
        t = self.text_embeddings().to(v.dtype)
        s = self.tau * torch.einsum('bdhw,kd->bkhw', v, t)
        return s, v, t

    def forward(self, inputs: List[Tensor]) -> Tensor:
        return self._forward_feats(inputs)[0]

    def loss(self, inputs: List[Tensor], batch_data_samples: SampleList, train_cfg: ConfigType) -> dict:
        s, v, t = self._forward_feats(inputs)
        losses = self.loss_by_feat(s, batch_data_samples)
        if self.loss_align is not None:
            gt = self._stack_batch_gt(batch_data_samples).squeeze(1)
            losses[self.loss_align.loss_name] = self.loss_align(v, t, gt, ignore_index=self.ignore_index)
        return losses

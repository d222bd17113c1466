"""D2LS decode head: dynamic dictionary learning (Zou et al., "Dynamic Dictionary Learning for Remote Sensing
Image Segmentation", ICCV 2025). Implements the released code's form of the paper's Eqs. 9-16; see
``docs/methods/d2ls.md`` ("Open points and the choices taken") for where paper and code differ.

Pipeline (N classes = dictionary entries, C' = ``channels``, r = ``query_ratio``, L = ``num_stages``)::

    F1..F4 (strides 4..32) --Eq. 9--> F'_i (B, C', h, w) --Eq. 10--> E0 (B, C', h, w)        h, w = H/4, W/4
    D_s (N, C') --Linear--> M (N, r, C');  F4 --modulator (Eqs. 12-13)--> A (B, N, r)
    D0 = einsum('bnr,nrc->bnc', A, M)                                                     (Eq. 14)
    (E0, D0) --L two-way cross-attention stages (Eq. 15)--> (E_L, D_L)
    logits = MLP(D_L) @ PixelShuffle-upsample(E_L)                     (B, N, H, W)        (Eq. 16)

In training the same decoder also runs on the static dictionary D_s (auxiliary branch, weight 0.4) and the
dictionary contrastive loss (Eqs. 5-8) is applied to D0; at inference only the dynamic branch runs.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList

from ..utils.cross_attention import CrossAttention
from ..utils.layer_norm_2d import LayerNorm2d
from ..utils.random_fourier_pe import RandomFourierPE
from .aux_logits_mixin import AuxLogitsLossMixin

DICT_MODES = ('dynamic', 'static', 'uniform', 'ones', 'zeros')


class D2LSAggregator(nn.Module):
    """Encoder feature mapping and aggregation (Eqs. 9-10).

    ``F'_i = resize(Linear_{C_i -> C'}(F_i), (h, w))`` (a per-pixel linear = 1x1 conv with bias, no norm/act),
    ``E0 = Conv1x1_{4C' -> C'}(cat[F'_4, F'_3, F'_2, F'_1])`` (deepest first, no bias). With
    ``use_aggregator=False`` (Table 3 "w/o aggregator") ``E0 = F'_4`` and only that projection exists.

    Shapes: list of (B, C_i, H_i, W_i) -> (B, C', H_1, W_1).
    """

    def __init__(self, in_channels: Sequence[int], channels: int, use_aggregator: bool = True,
                 align_corners: bool = False) -> None:
        super().__init__()
        self.use_aggregator = use_aggregator
        self.align_corners = align_corners
        used = list(in_channels) if use_aggregator else [in_channels[-1]]
        self.projs = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in used)
        self.fuse = nn.Conv2d(len(in_channels) * channels, channels, 1, bias=False) if use_aggregator else None

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        size = feats[0].shape[-2:]
        used = feats if self.use_aggregator else feats[-1:]
        proj = [resize(p(f), size=size, mode='bilinear', align_corners=self.align_corners)
                for p, f in zip(self.projs, used)]
        if self.fuse is None:
            return proj[0]
        return self.fuse(torch.cat(proj[::-1], dim=1))  # [C] concatenates deepest first


class DictionaryModulator(nn.Module):
    """Per-image mixing weights over the r candidates of every dictionary entry (Eqs. 12-13).

    ``X = Linear_{C4 -> C'}(F4)``; split X into halves X1, X2; ``a_max = Linear(GMP(X1))``,
    ``a_avg = Linear(GAP(X2))``; ``A = softmax(Linear_{2C' -> N r}(ReLU(Linear_{C' -> 2C'}([a_max, a_avg]))))``
    over r. (The paper assigns GAP to the first half; the released code does the reverse, which we follow.)

    Shapes: F4 (B, C4, h32, w32) -> A (B, N, r), rows sum to 1.
    """

    def __init__(self, in_channels: int, channels: int, num_tokens: int, query_ratio: int) -> None:
        super().__init__()
        if channels % 2:
            raise ValueError(f'channels must be even, got {channels}')
        half = channels // 2
        self.num_tokens, self.query_ratio = num_tokens, query_ratio
        self.proj = nn.Conv2d(in_channels, channels, 1)
        self.max_fc = nn.Linear(half, half)
        self.avg_fc = nn.Linear(half, half)
        self.fc1 = nn.Linear(channels, 2 * channels)
        self.fc2 = nn.Linear(2 * channels, num_tokens * query_ratio)

    def forward(self, x: Tensor) -> Tensor:
        x = self.proj(x)
        x1, x2 = x.chunk(2, dim=1)
        z = torch.cat([self.max_fc(x1.amax((2, 3))), self.avg_fc(x2.mean((2, 3)))], dim=1)  # (B, C')
        logits = self.fc2(F.relu(self.fc1(z)))
        return logits.reshape(x.shape[0], self.num_tokens, self.query_ratio).softmax(-1)


class InteractorBlock(nn.Module):
    """One stage of the two-way interactor (Eq. 15, post-norm, SAM TwoWayAttentionBlock without the token
    self-attention and MLP, which the released code builds but never runs)::

        Q' = LN(Q + Attn_t2i(Q + T0, K + P, K))      # dictionary queries image
        K' = LN(K + Attn_i2t(K + P, Q' + T0, Q'))    # image queries dictionary

    ``legacy_sam_blocks=True`` also instantiates the never-used self-attention/MLP/norms (only to load the
    authors' state dicts or reproduce their parameter count; needs ``find_unused_parameters=True``).

    Shapes: Q, T0 (B, N, C); K, P (B or 1, T, C).
    """

    def __init__(self, channels: int, num_heads: int, downsample_rate: int, legacy_sam_blocks: bool = False,
                 mlp_dims: int = 2048) -> None:
        super().__init__()
        self.cross_attn_token_to_image = CrossAttention(channels, num_heads, downsample_rate)
        self.norm2 = nn.LayerNorm(channels)
        self.cross_attn_image_to_token = CrossAttention(channels, num_heads, downsample_rate)
        self.norm4 = nn.LayerNorm(channels)
        if legacy_sam_blocks:  # unused in forward, as in the released code
            self.self_attn = CrossAttention(channels, num_heads, 1)
            self.norm1 = nn.LayerNorm(channels)
            self.mlp = nn.Sequential(nn.Linear(channels, mlp_dims), nn.ReLU(), nn.Linear(mlp_dims, channels))
            self.norm3 = nn.LayerNorm(channels)

    def forward(self, q: Tensor, k: Tensor, t0: Tensor, pe: Tensor) -> Tuple[Tensor, Tensor]:
        q = self.norm2(q + self.cross_attn_token_to_image(q + t0, k + pe, k))
        k = self.norm4(k + self.cross_attn_image_to_token(k + pe, q + t0, q))
        return q, k


class TwoWayInteractor(nn.Module):
    """L interactor stages followed by a final dictionary -> image attention + LN (Eq. 15).

    Shapes: K (B, T, C) image tokens, P (1, T, C), T0 (B, N, C) -> (Q_fin (B, N, C), K_L (B, T, C)).
    """

    def __init__(self, channels: int, num_stages: int, num_heads: int, downsample_rate: int,
                 legacy_sam_blocks: bool = False) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            InteractorBlock(channels, num_heads, downsample_rate, legacy_sam_blocks) for _ in range(num_stages))
        self.final_attn_token_to_image = CrossAttention(channels, num_heads, downsample_rate)
        self.norm_final = nn.LayerNorm(channels)

    def forward(self, k: Tensor, pe: Tensor, t0: Tensor) -> Tuple[Tensor, Tensor]:
        q = t0  # T0 is both the initial dictionary and its positional term at every stage
        for blk in self.blocks:
            q, k = blk(q, k, t0, pe)
        q = self.norm_final(q + self.final_attn_token_to_image(q + t0, k + pe, k))
        return q, k


class PixelShuffleUpsampler(nn.Module):
    """phi in Eq. 16: ``GELU(PS2(GELU(LN2d(PS2(x)))))``, x4 in space, /16 in channels, only LN parameters.

    Shapes: (B, C, h, w) -> (B, C/16, 4h, 4w).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels % 16:
            raise ValueError(f'channels must be divisible by 16 for the x4 pixel shuffle, got {channels}')
        self.shuffle = nn.PixelShuffle(2)
        self.norm = LayerNorm2d(channels // 4)

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(self.shuffle(F.gelu(self.norm(self.shuffle(x)))))


class HyperMLP(nn.Sequential):
    """The "MLP(D_L)" of Eq. 16: Linear(C, C) -> ReLU -> ... -> Linear(C, C/16). Shapes: (B, N, C) -> (B, N, C/16)."""

    def __init__(self, channels: int, out_channels: int, num_layers: int = 3) -> None:
        layers: List[nn.Module] = []
        for i in range(num_layers):
            last = i == num_layers - 1
            layers.append(nn.Linear(channels, out_channels if last else channels))
            if not last:
                layers.append(nn.ReLU())
        super().__init__(*layers)


@MODELS.register_module()
class D2LSHead(AuxLogitsLossMixin, BaseDecodeHead):
    """D2LS head (paper §3, Eqs. 9-16) on a 4-level pyramid (strides 4, 8, 16, 32).

    Args:
        in_channels: channels of the 4 selected levels, e.g. ConvNeXt-B ``[128, 256, 512, 1024]``.
        channels: embedding size C' (256; divisible by 16 and C'/downsample by ``num_heads``).
        num_classes: N.
        num_tokens: dictionary entries; ``None`` = N. Otherwise a Linear(num_tokens -> N) maps token outputs to
            classes (the released code's ``has_conv``).
        query_ratio: r, candidates per dictionary entry (4).
        num_stages: L interactor stages (3; Table 2 ablates 1..4).
        num_heads, attn_downsample_rate: attention heads (8) and inner-width divisor (2).
        pe_scale: std of the random Fourier positional encoding (1.0).
        hyper_mlp_layers: depth of the MLP on D_L (3).
        use_aggregator: Eq. 10 aggregation; False = Table 3 "w/o aggregator" (E0 = F'_4).
        use_modulator: False = Table 3 "w/o modulator" (recommended reading: dictionary = D_s, i.e.
            ``dict_mode='static'``).
        use_interactor: False = Table 3 "w/o interaction" (K_L = K_0, D_L = D0).
        use_static_branch: run the decoder on D_s as an auxiliary training branch (ignored when the dictionary
            already is static).
        dict_mode: ``'dynamic'`` (Eq. 14), ``'static'`` (D_s only, Table 1 "L_static only"), ``'uniform'``
            (A = 1/r, the other reading of "w/o modulator"), ``'ones'``/``'zeros'`` (constant dictionaries).
        contrast_on: ``'d0'`` (released code) or ``'dl'`` (after the interactor) for the contrastive loss.
        loss_decode: losses on the dynamic logits (default label-smoothed CE + multiclass Dice, weight 1).
        loss_static: losses on the static-branch logits (default CE + Dice, weight 0.4 each), reported as
            ``static.<loss_name>`` (+ ``static.acc_seg``); ``None`` drops the static branch.
        loss_contrast: dictionary contrastive loss (Eqs. 5-8); ``None`` disables it.
        legacy_sam_blocks: also build the released code's unused self-attention/MLP modules.
        last_line: the released code's ``Decoder(last_line=True)`` variant, a dictionary-free baseline:
            ``logits = Conv1x1_{C'/16 -> N}(phi(E0))`` (the pixel-shuffle upsampler of Eq. 16 on the aggregated
            features, then a 1x1 classifier ``conv_seg``); no dictionary, interactor, static branch or
            contrastive loss (the release builds those modules but never runs them).

    Forward (mmseg's multi-output idiom, as ``DDRHead``/``KernelUpdateHead``):
        training: ``(logits_dynamic, logits_static)``, or ``(logits_dynamic, )`` without the static branch;
        eval: ``logits_dynamic`` only (the static branch is not computed). Logits are (B, N, 4h, 4w), i.e. the
        input resolution for a stride-4 first level. ``loss`` also applies the contrastive loss to the dictionary,
        which is no output of ``forward``.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (128, 256, 512, 1024),
                 channels: int = 256,
                 *,
                 num_classes: int,
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 input_transform: str = 'multiple_select',
                 num_tokens: Optional[int] = None,
                 query_ratio: int = 4,
                 num_stages: int = 3,
                 num_heads: int = 8,
                 attn_downsample_rate: int = 2,
                 pe_scale: float = 1.0,
                 hyper_mlp_layers: int = 3,
                 use_aggregator: bool = True,
                 use_modulator: bool = True,
                 use_interactor: bool = True,
                 use_static_branch: bool = True,
                 dict_mode: str = 'dynamic',
                 contrast_on: str = 'd0',
                 loss_decode: Union[ConfigType, Sequence[ConfigType]] = (
                     dict(type='SoftCrossEntropyLoss', smooth_factor=0.05, loss_weight=1.0, loss_name='loss_ce'),
                     dict(type='MultiClassDiceLoss', smooth=0.05, loss_weight=1.0, loss_name='loss_dice')),
                 loss_static: Optional[Union[ConfigType, Sequence[ConfigType]]] = (
                     dict(type='SoftCrossEntropyLoss', smooth_factor=0.05, loss_weight=0.4,
                          loss_name='loss_ce_static'),
                     dict(type='MultiClassDiceLoss', smooth=0.05, loss_weight=0.4, loss_name='loss_dice_static')),
                 loss_contrast: Optional[ConfigType] = dict(
                     type='DictContrastiveLoss', eps=1e-6, gather_across_gpus=True, loss_weight=1.0,
                     loss_name='loss_dict_con'),
                 legacy_sam_blocks: bool = False,
                 last_line: bool = False,
                 init_cfg=None,
                 **kwargs) -> None:
        if len(in_channels) != 4 or len(in_index) != 4:
            raise ValueError(f'D2LSHead takes 4 pyramid levels (strides 4..32), got in_channels={in_channels}, '
                             f'in_index={in_index}')
        if dict_mode not in DICT_MODES:
            raise ValueError(f'dict_mode must be one of {DICT_MODES}, got {dict_mode!r}')
        if contrast_on not in ('d0', 'dl'):
            raise ValueError(f"contrast_on must be 'd0' or 'dl', got {contrast_on!r}")
        loss_decode = list(loss_decode) if isinstance(loss_decode, (list, tuple)) else loss_decode
        # init_cfg=None: the base default initialises conv_seg, which this head deletes
        super().__init__(list(in_channels), channels, num_classes=num_classes, in_index=list(in_index),
                         input_transform=input_transform, loss_decode=loss_decode, init_cfg=init_cfg, **kwargs)
        del self.conv_seg, self.dropout  # the dictionary replaces the 1x1 classifier
        if not use_modulator and dict_mode == 'dynamic':
            dict_mode = 'static'
        self.dict_mode = dict_mode
        self.last_line = last_line
        decoder = not last_line  # the dictionary decoder's modules (Eqs. 11-16)
        self.num_tokens = num_tokens or num_classes
        self.query_ratio = query_ratio
        self.use_interactor = use_interactor
        # with a static dictionary the "static branch" would be the dynamic one again; unsupervised it is useless
        self.use_static_branch = use_static_branch and dict_mode != 'static' and decoder and loss_static is not None
        self.contrast_on = contrast_on
        c = channels

        self.aggregator = D2LSAggregator(self.in_channels, c, use_aggregator, self.align_corners)
        self.pe = RandomFourierPE(c, pe_scale)
        self.static_dict = nn.Embedding(self.num_tokens, c) if decoder else None  # D_s, Eq. 11 (N(0, 1) init)
        needs_mlp = dict_mode in ('dynamic', 'uniform') and decoder
        self.token_mlp = nn.Linear(c, query_ratio * c) if needs_mlp else None  # M = MLP(D_s), Eq. 14
        self.modulator = (DictionaryModulator(self.in_channels[-1], c, self.num_tokens, query_ratio)
                          if dict_mode == 'dynamic' and decoder else None)
        self.interactor = (TwoWayInteractor(c, num_stages, num_heads, attn_downsample_rate, legacy_sam_blocks)
                           if use_interactor and decoder else None)
        self.upsampler = PixelShuffleUpsampler(c)
        self.hyper_mlp = HyperMLP(c, c // 16, hyper_mlp_layers) if decoder else None
        self.token_to_class = (nn.Linear(self.num_tokens, num_classes)
                               if self.num_tokens != num_classes and decoder else None)
        if last_line:  # [C]'s output_head: a 1x1 conv on the upsampled C'/16 channels
            self.conv_seg = nn.Conv2d(c // 16, num_classes, 1)

        if self.use_static_branch:
            self._add_aux_logits('loss_static', loss_static, prefix='static')
        else:
            self.loss_static = None
        # a constant or batch-independent dictionary has nothing to contrast
        self.loss_contrast = (MODELS.build(loss_contrast)
                              if loss_contrast is not None and dict_mode == 'dynamic' and decoder else None)

    # ------------------------------------------------------------------ dictionary (Eqs. 11-14)
    def dynamic_dictionary(self, f4: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
        """D0 (B, N, C') for the configured ``dict_mode`` and the mixing weights A (B, N, r) (or None)."""
        b = f4.shape[0]
        ds = self.static_dict.weight  # (N, C')
        if self.dict_mode == 'static':
            return ds.unsqueeze(0).expand(b, -1, -1), None
        if self.dict_mode in ('ones', 'zeros'):
            fill = torch.ones_like if self.dict_mode == 'ones' else torch.zeros_like
            return fill(ds).unsqueeze(0).expand(b, -1, -1), None
        m = self.token_mlp(ds).reshape(self.num_tokens, self.query_ratio, -1)  # (N, r, C')
        if self.dict_mode == 'uniform':
            a = m.new_full((b, self.num_tokens, self.query_ratio), 1.0 / self.query_ratio)
        else:
            a = self.modulator(f4)  # (B, N, r), Eqs. 12-13
        return torch.einsum('bnr,nrc->bnc', a, m), a  # Eq. 14: convex mix of the r candidates

    # ------------------------------------------------------------------ decoder (Eqs. 15-16)
    def decode(self, e0: Tensor, pe: Tensor, t0: Tensor) -> Tuple[Tensor, Tensor]:
        """Interactor + output for one dictionary T0 (B, N, C'). Returns (logits (B, N, 4h, 4w), D_L (B, N, C'))."""
        b, c, h, w = e0.shape
        k = e0.flatten(2).transpose(1, 2)  # (B, T, C')
        if self.interactor is not None:
            q, k = self.interactor(k, pe.flatten(2).transpose(1, 2), t0)
        else:
            q = t0
        u = self.upsampler(k.transpose(1, 2).reshape(b, c, h, w))  # (B, C'/16, 4h, 4w)
        hq = self.hyper_mlp(q)  # (B, N, C'/16)
        if self.token_to_class is not None:
            hq = self.token_to_class(hq.transpose(1, 2)).transpose(1, 2)
        return torch.einsum('bnc,bchw->bnhw', hq, u), q  # Eq. 16

    def _forward(self, inputs: List[Tensor], with_static: bool) -> Tuple[Tuple[Tensor, ...], Optional[Tensor]]:
        """``((logits_dynamic[, logits_static]), dictionary for the contrastive loss or None)``."""
        feats = self._transform_inputs(inputs)
        e0 = self.aggregator(feats)  # (B, C', h, w), Eqs. 9-10
        if self.last_line:
            return (self.conv_seg(self.upsampler(e0)), ), None
        pe = self.pe(e0.shape[-2:]).to(e0.dtype)  # (1, C', h, w)
        d0, _ = self.dynamic_dictionary(feats[-1])
        logits, d_l = self.decode(e0, pe, d0)
        outs = (logits, )
        if with_static:  # same decoder weights, static dictionary D_s as T0
            ds = self.static_dict.weight.unsqueeze(0).expand(e0.shape[0], -1, -1)
            outs += (self.decode(e0, pe, ds)[0], )
        return outs, (d0 if self.contrast_on == 'd0' else d_l)

    def forward(self, inputs: List[Tensor]) -> Union[Tensor, Tuple[Tensor, ...]]:
        """Training: ``(logits_dynamic[, logits_static])``; eval: ``logits_dynamic``, each (B, N, H, W)."""
        if self.training:
            return self._forward(inputs, with_static=self.use_static_branch)[0]
        return self._forward(inputs, with_static=False)[0][0]

    # ------------------------------------------------------------------ losses (Eqs. 2-8)
    def loss(self, inputs: Tuple[Tensor], batch_data_samples: SampleList, train_cfg: ConfigType) -> Dict[str, Tensor]:
        """L = L_dynamic(CE + Dice + Con) + 0.4 L_static(CE + Dice) (Eqs. 2-4; weights live in the loss configs).

        The segmentation losses are ``loss_by_feat`` (:class:`AuxLogitsLossMixin`): the dynamic losses' names
        (``loss_ce``, ``loss_dice``) and ``acc_seg``, the static ones prefixed ``static.``. The contrastive loss
        (Eqs. 5-8, ``loss_dict_con``) needs the dictionary, which ``forward`` does not return.
        """
        seg_logits, dictionary = self._forward(list(inputs), with_static=self.use_static_branch)
        losses = self.loss_by_feat(seg_logits, batch_data_samples)
        if self.loss_contrast is not None:
            losses[self.loss_contrast.loss_name] = self.loss_contrast(dictionary)
        return losses

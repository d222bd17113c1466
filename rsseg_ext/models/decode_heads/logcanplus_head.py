"""LOGCAN++ decode head (X. Ma et al.; reference [33] of the SCSM paper, code in the authors' rssegmentation toolbox):
the SCSM authors' previous model, used as the baseline.

Written from the structural description in the SCSM paper's appendix and the authors' public code
(github.com/xwmaxwma/rssegmentation, ``rsseg/models/segheads/logcanplus_head.py``); no code was copied.
``release_compat=True`` reproduces that code's window geometry and head/window pairing (docs/methods/scsm.md).
"""
import math
from typing import List, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType

from ..utils.semantic_mask import SemanticMaskGenerator
from .aux_logits_mixin import AuxLogitsLossMixin


@MODELS.register_module()
class LocalClassAttention(nn.Module):
    """LOGCAN++'s local class-aware attention (LCA) with affine-transformed windows, ``(B, T, h, w) -> (B, T, h, w)``.

    1. ``P = softmax_pixels(Conv1x1_{T->K}(x))`` ``(B, K, h, w)`` (class probabilities over the whole map).
    2. The map is cut into a ``window_grid`` of windows (padded to a multiple of the grid). Per window and head an
       affine transformation block (``AvgPool -> LeakyReLU -> Conv1x1``) predicts an offset (2), a scale (2) and
       an angle (1); window sampling coordinates are scaled, rotated about the window centre and shifted, and
       the keys ``k(x)`` and ``P`` are resampled with ``grid_sample`` (zeros padding, ``align_corners=True``).
    3. Local class centres per window and head: ``L = P_s^T k_s`` ``(K, T/heads)``.
    4. ``z = softmax(q(x) L^T / sqrt(T/heads)) v(G)`` with ``G (B, K, T)`` the global class centres, then a
       linear output projection and ``cat_conv(cat[x, z])``.

    Args:
        channels: ``T``.
        num_classes: ``K``.
        num_heads: heads (8).
        window_grid: number of windows per axis (4, 4), i.e. 16 windows per map whatever its size.
        dropout_ratio: dropout inside ``cat_conv``.
        release_compat: compute what the authors' released ``RVSA_MRAM`` computes (for converted release weights,
            see ``docs/methods/scsm.md``): (a) the window is scaled and rotated in normalised ``[-1, 1]``
            coordinates (not pixels: differs on non-square maps) and the predicted offset ``(o_x, o_y)`` is added
            in normalised units as ``(o_x / (h / gh), o_y / (w / gw))``; (b) the local class centres of
            (head ``i``, window ``j``) are paired with the queries of head ``i'``, window ``j'`` where
            ``j' * heads + i' = i * nW + j`` (their reshape of a head-major tensor as window-major). Each image
            is still treated on its own (their batch > 1 path mixes images' class centres: not reproduced).
    """

    def __init__(self, channels: int, num_classes: int, num_heads: int = 8,
                 window_grid: Tuple[int, int] = (4, 4), dropout_ratio: float = 0.1,
                 norm_cfg: dict = dict(type='BN', requires_grad=True), act_cfg: dict = dict(type='ReLU'),
                 release_compat: bool = False) -> None:
        super().__init__()
        self.release_compat = release_compat
        if channels % num_heads:
            raise ValueError(f'channels ({channels}) must be divisible by num_heads ({num_heads})')
        self.channels, self.num_classes, self.num_heads = channels, num_classes, num_heads
        self.head_dim = channels // num_heads
        self.window_grid = tuple(window_grid)
        self.feat_decoder = nn.Conv2d(channels, num_classes, 1)
        self.query = nn.Conv2d(channels, channels, 1)
        self.key = nn.Conv2d(channels, channels, 1)
        self.value = nn.Linear(channels, channels)
        self.out_project = nn.Linear(channels, channels)

        def atb(out: int) -> nn.Sequential:
            return nn.Sequential(nn.LeakyReLU(), nn.Conv2d(channels, num_heads * out, 1))

        self.sampling_offsets, self.sampling_scales, self.sampling_angles = atb(2), atb(2), atb(1)
        # start from the plain window grid: zero offset, unit scale (authors' code: offset/scale convs zero-initialised)
        for m in (self.sampling_offsets[1], self.sampling_scales[1]):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)
        self.cat_conv = nn.Sequential(
            ConvModule(2 * channels, channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
            nn.Dropout2d(dropout_ratio),
            ConvModule(channels, channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
            nn.Dropout2d(dropout_ratio))

    def _sampling_grid(self, pooled: Tensor, hp: int, wp: int) -> Tensor:
        """Normalised sampling coordinates ``(B*heads, hp, wp, 2)`` of the transformed windows."""
        b = pooled.shape[0]
        gh, gw = self.window_grid
        wh, ww = hp // gh, wp // gw
        nh = self.num_heads
        offset = self.sampling_offsets(pooled).reshape(b, nh, 2, gh, gw)
        scale = self.sampling_scales(pooled).reshape(b, nh, 2, gh, gw)
        angle = self.sampling_angles(pooled).reshape(b, nh, gh, gw)
        dev, dt = pooled.device, pooled.dtype
        # pixel offsets of a window's pixels from its centre, (wh, ww)
        ry = (torch.arange(wh, device=dev, dtype=dt) - (wh - 1) / 2)[:, None].expand(wh, ww)
        rx = (torch.arange(ww, device=dev, dtype=dt) - (ww - 1) / 2)[None, :].expand(wh, ww)
        e = (Ellipsis, None, None)  # broadcast (B, heads, gh, gw) over (wh, ww)
        sx, sy = (1 + scale[:, :, 0])[e] * rx, (1 + scale[:, :, 1])[e] * ry
        cos, sin = angle.cos()[e], angle.sin()[e]
        cy = (torch.arange(gh, device=dev, dtype=dt) * wh + (wh - 1) / 2)[:, None]  # window centres
        cx = (torch.arange(gw, device=dev, dtype=dt) * ww + (ww - 1) / 2)[None, :]
        nx, ny = 2 / max(wp - 1, 1), 2 / max(hp - 1, 1)  # pixels -> align_corners=True normalised units
        if self.release_compat:
            # the release scales/rotates normalised offsets and adds o_x / (h / gh), o_y / (w / gw) (sic)
            sx, sy = sx * nx, sy * ny
            gx = cos * sx - sin * sy + (cx * nx - 1 + offset[:, :, 0] / wh)[e]
            gy = sin * sx + cos * sy + (cy * ny - 1 + offset[:, :, 1] / ww)[e]
        else:  # rotation in pixels (a rigid rotation on any map), offsets in window units
            px, py = cos * sx - sin * sy, sin * sx + cos * sy  # (B, heads, gh, gw, wh, ww)
            gx = (px + (cx + offset[:, :, 0] * ww)[e]) * nx - 1
            gy = (py + (cy + offset[:, :, 1] * wh)[e]) * ny - 1
        grid = torch.stack((gx, gy), dim=-1)  # (B, heads, gh, gw, wh, ww, 2)
        return grid.permute(0, 1, 2, 4, 3, 5, 6).reshape(b * nh, hp, wp, 2)

    def _windows(self, x: Tensor) -> Tensor:
        """``(N, c, hp, wp) -> (N, gh*gw, wh*ww, c)`` (windows of the padded map)."""
        n, c, hp, wp = x.shape
        gh, gw = self.window_grid
        wh, ww = hp // gh, wp // gw
        return x.reshape(n, c, gh, wh, gw, ww).permute(0, 2, 4, 3, 5, 1).reshape(n, gh * gw, wh * ww, c)

    def forward(self, x: Tensor, global_centers: Tensor) -> Tensor:
        """``x (B, T, h, w)``, ``global_centers (B, K, T)`` -> ``(B, T, h, w)``."""
        b, t, h, w = x.shape
        gh, gw = self.window_grid
        nh, dh, k = self.num_heads, self.head_dim, self.num_classes
        probs = self.feat_decoder(x).flatten(2).softmax(-1).reshape(b, k, h, w)
        hp, wp = math.ceil(h / gh) * gh, math.ceil(w / gw) * gw
        pad = (0, wp - w, 0, hp - h)
        xp, probs = F.pad(x, pad), F.pad(probs, pad)
        pooled = F.adaptive_avg_pool2d(xp, (gh, gw))  # one descriptor per window
        grid = self._sampling_grid(pooled, hp, wp)
        keys = self.key(xp).reshape(b * nh, dh, hp, wp)
        src = torch.cat([keys, probs.repeat_interleave(nh, dim=0)], dim=1)  # (B*heads, dh + K, hp, wp)
        sampled = F.grid_sample(src, grid, mode='bilinear', padding_mode='zeros', align_corners=True)
        sampled = self._windows(sampled).reshape(b, nh, gh * gw, -1, dh + k)
        keys_s, probs_s = sampled[..., :dh], sampled[..., dh:]
        local = probs_s.transpose(-1, -2) @ keys_s  # (B, heads, nW, K, dh): local class centres
        if self.release_compat:  # the release reads the head-major (heads, nW) list as window-major (nW, heads)
            local = local.reshape(b, gh * gw, nh, k, dh).transpose(1, 2)
        q = self._windows(self.query(xp).reshape(b * nh, dh, hp, wp)).reshape(b, nh, gh * gw, -1, dh)
        v = self.value(global_centers).reshape(b, k, nh, dh).transpose(1, 2)[:, :, None]  # (B, heads, 1, K, dh)
        nw = gh * gw
        # 4-D (B, heads*nW, ., dh) so that fused SDPA kernels apply on GPU
        z = F.scaled_dot_product_attention(q.reshape(b, nh * nw, -1, dh), local.reshape(b, nh * nw, k, dh),
                                           v.expand(-1, -1, nw, -1, -1).reshape(b, nh * nw, k, dh))
        z = z.reshape(b, nh, nw, -1, dh)  # (B, heads, nW, Lw, dh)
        z = self.out_project(z.permute(0, 2, 3, 1, 4).reshape(b, gh * gw, -1, t))  # (B, nW, Lw, T)
        z = z.reshape(b, gh, gw, hp // gh, wp // gw, t).permute(0, 5, 1, 3, 2, 4).reshape(b, t, hp, wp)
        return self.cat_conv(torch.cat([x, z[:, :, :h, :w]], dim=1))


@MODELS.register_module()
class LOGCANPlusHead(AuxLogitsLossMixin, BaseDecodeHead):
    """LOGCAN++ multi-scale head (the authors' released head; docs/methods/scsm.md).

    ``inputs``: 4 levels (strides 4/8/16/32 for a plain ResNet) -> ``(seg_logits (B, K, h1, w1), pre_logits
    (B, K, h4, w4))``:

    * ``f_i = CBR3x3(x_i)`` to ``T = channels``; ``pred1 = Conv1x1(f_4)``; ``G = softmax_pixels(pred1) f_4^T``;
    * top-down: ``n_4 = LCA_4(f_4, G)``, ``f_3 <- CBR3x3(cat[up(n_4), f_3])``, ``n_3 = LCA_3(f_3, G)``, ... ``n_1``;
    * ``seg_logits = conv_seg(dropout(CBR3x3(n_1 + up(n_2) + up(n_3) + up(n_4))))``.

    Losses: ``loss_decode`` on the main logits (CE 1.0) and ``pre_loss_decode`` on ``pred1`` (CE 0.8, reported
    as ``pre.<loss_name>``); no auxiliary FCN.

    Args:
        num_heads: heads of each LCA (8).
        window_grid: windows per axis of each LCA (4, 4).
        release_compat: every LCA computes the authors' released window geometry and head/window pairing
            (:class:`LocalClassAttention`); for checkpoints converted by ``tools/model_converters/
            logcanplus2mmseg.py``. Off (the default) for training from scratch.
        pre_loss_decode: loss config(s) of ``pred1``.
        **kwargs: :class:`BaseDecodeHead` arguments; ``input_transform='multiple_select'`` with 4 indices.
    """

    def __init__(self, num_heads: int = 8, window_grid: Tuple[int, int] = (4, 4), release_compat: bool = False,
                 pre_loss_decode: Union[ConfigType, Sequence[ConfigType]] = dict(
                     type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.8),
                 **kwargs) -> None:
        kwargs.setdefault('input_transform', 'multiple_select')
        super().__init__(**kwargs)
        if self.input_transform != 'multiple_select' or len(self.in_channels) < 2:
            raise ValueError('LOGCANPlusHead needs input_transform="multiple_select" with several levels, got '
                             f'{self.input_transform!r} with in_channels={self.in_channels}')
        t, k = self.channels, self.out_channels
        cfg = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.bottlenecks = nn.ModuleList([ConvModule(c, t, 3, padding=1, **cfg) for c in self.in_channels])
        self.pre_cls = nn.Conv2d(t, k, 1)
        self.centers = SemanticMaskGenerator('softmax')
        self.lcas = nn.ModuleList([
            LocalClassAttention(t, k, num_heads, window_grid, self.dropout_ratio, self.norm_cfg, self.act_cfg,
                                release_compat)
            for _ in self.in_channels])
        self.fuse_convs = nn.ModuleList([ConvModule(2 * t, t, 3, padding=1, **cfg)
                                         for _ in self.in_channels[:-1]])
        self.out_conv = ConvModule(t, t, 3, padding=1, **cfg)
        self._add_aux_logits('pre_loss_decode', pre_loss_decode, prefix='pre')

    def forward(self, inputs: List[Tensor]) -> Tuple[Tensor, Tensor]:
        xs = self._transform_inputs(inputs)
        feats = [conv(x) for conv, x in zip(self.bottlenecks, xs)]
        pre_logits = self.pre_cls(feats[-1])
        g, _ = self.centers.centers(feats[-1], pre_logits)  # (B, K, T) global class centres
        new = self.lcas[-1](feats[-1], g)
        outs = [new]
        for i in range(len(feats) - 2, -1, -1):
            up = resize(new, size=feats[i].shape[2:], mode='bilinear', align_corners=self.align_corners)
            new = self.lcas[i](self.fuse_convs[i](torch.cat([up, feats[i]], dim=1)), g)
            outs.append(new)
        size = outs[-1].shape[2:]
        fused = sum(resize(o, size=size, mode='bilinear', align_corners=self.align_corners) if o.shape[2:] != size
                    else o for o in outs)
        return self.cls_seg(self.out_conv(fused)), pre_logits

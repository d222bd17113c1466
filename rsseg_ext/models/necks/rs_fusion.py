"""RS-Fusion layers of RSKT-Seg (paper Eqs. 4-7): plain ``nn.Module`` s, unit-testable alone.

* :class:`SpatialReductionBlock` (SET): per-class spatial attention whose keys/values are downsampled by a strided
  conv (SegFormer spatial-reduction attention), queries/keys guided by CLIP appearance features.
* :class:`ClassPoolBlock` (CET): attention across the T classes on a 2x2 average-pooled grid, guided by text
  embeddings, upsampled back and added (outer residual).
* :class:`RSFusionLayer`: SET then CET on the cost embedding ``(B, C, T, H, W)``.

Initialisation of every Linear/Conv/LN inside (as the original): Linear trunc_normal(0.02), Conv normal(0,
sqrt(2 / fan_out)), LN (1, 0), biases 0.
"""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['SpatialReductionBlock', 'ClassPoolBlock', 'RSFusionLayer', 'GatedMLP', 'init_rs_fusion_weights']


def init_rs_fusion_weights(m: nn.Module) -> None:
    """The original's ``_init_weights`` (applied to every submodule)."""
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Conv2d):
        fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
        nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
        if m.bias is not None:
            nn.init.zeros_(m.bias)


class GatedMLP(nn.Module):
    """``fc2(ReLU6(fc1(z)) * gate(z))``: ``(..., C) -> (..., C)`` with hidden ``ratio * C``."""

    def __init__(self, dim: int, ratio: int = 3) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, dim * ratio)
        self.gate = nn.Linear(dim, dim * ratio)
        self.fc2 = nn.Linear(dim * ratio, dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu6(self.fc1(z)) * self.gate(z))


def _mha(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int) -> torch.Tensor:
    """Softmax attention ``(N, Lq, C), (N, Lk, C), (N, Lk, C) -> (N, Lq, C)``, scale ``d_h^-0.5``."""
    n, lq, c = q.shape
    split = lambda t: t.reshape(n, t.shape[1], heads, c // heads).transpose(1, 2)  # noqa: E731
    out = F.scaled_dot_product_attention(split(q), split(k), split(v))
    return out.transpose(1, 2).reshape(n, lq, c)


class SpatialReductionBlock(nn.Module):
    """SET (Eqs. 4-5): ``x (N, C, H, W)`` (N = B*T, one cost map per class) + guidance ``g (N, Cg, H, W)``.

    ``Q = W_q [LN1(x); g]`` at full resolution; ``K = W_k LN_k(SR([LN1(x); g]))``; ``V = W_v LN_v(SR_v(LN1(x)))``
    with ``SR`` a ``sr_ratio`` x ``sr_ratio`` stride-``sr_ratio`` conv (HW/sr^2 keys), then
    ``x += proj(MHA(Q, K, V))`` and ``x += DWConv7x7(GatedMLP(LN2(x)))``. ``sr_ratio=1`` gives plain attention
    with no conv/LN on K/V. Classes never interact here (N is a batch axis).
    """

    def __init__(self, dim: int = 128, guidance_dim: int = 128, num_heads: int = 8, sr_ratio: int = 2,
                 mlp_ratio: int = 3, dw_kernel: int = 7) -> None:
        super().__init__()
        self.num_heads, self.sr_ratio = num_heads, sr_ratio
        qk_in = dim + guidance_dim
        self.norm1 = nn.LayerNorm(dim)
        self.q = nn.Linear(qk_in, dim)
        self.k = nn.Linear(qk_in, dim)
        self.v = nn.Linear(dim, dim)
        if sr_ratio > 1:
            self.sr = nn.Conv2d(qk_in, qk_in, sr_ratio, sr_ratio)
            self.norm_k = nn.LayerNorm(qk_in)
            self.sr_v = nn.Conv2d(dim, dim, sr_ratio, sr_ratio)
            self.norm_v = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = GatedMLP(dim, mlp_ratio)
        self.dwconv = nn.Conv2d(dim, dim, dw_kernel, padding=dw_kernel // 2, groups=dim)

    @staticmethod
    def _reduce(t: torch.Tensor, hw, conv: nn.Conv2d, norm: nn.LayerNorm) -> torch.Tensor:
        n, _, c = t.shape
        t = conv(t.transpose(1, 2).reshape(n, c, *hw))
        return norm(t.flatten(2).transpose(1, 2))

    def forward(self, x: torch.Tensor, guidance: Optional[torch.Tensor] = None) -> torch.Tensor:
        n, c, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)  # (N, HW, C)
        xn = self.norm1(x)
        u = xn if guidance is None else torch.cat([xn, guidance.flatten(2).transpose(1, 2)], dim=-1)
        if self.sr_ratio > 1:
            u_r = self._reduce(u, (h, w), self.sr, self.norm_k)  # (N, HW/sr^2, C+Cg)
            v_r = self._reduce(xn, (h, w), self.sr_v, self.norm_v)
        else:
            u_r, v_r = u, xn
        x = x + self.proj(_mha(self.q(u), self.k(u_r), self.v(v_r), self.num_heads))
        m = self.mlp(self.norm2(x)).transpose(1, 2).reshape(n, c, h, w)
        x = x.transpose(1, 2).reshape(n, c, h, w)
        return x + self.dwconv(m)  # no activation after the depth-wise conv (as the original)


class ClassPoolBlock(nn.Module):
    """CET (Eqs. 6-7): attention across classes on an average-pooled grid.

    ``E (B, C, T, H, W)`` -> per class ``AvgPool(pool)`` -> one length-T sequence per pooled pixel ``(B*h*w, T, C)``
    -> ``s += proj(MHA([LN1(s); tau], [LN1(s); tau], LN1(s)))``, ``s += ReLU6(GatedMLP(LN2(s)))`` -> bilinear
    (``align_corners=True``) back to ``(H, W)`` -> ``E + up(s)``. No positional code over T, so permuting the
    classes permutes the output. ``text_guidance (B, T, Cg)`` or None.
    """

    def __init__(self, dim: int = 128, guidance_dim: int = 128, num_heads: int = 8, pool: int = 2,
                 mlp_ratio: int = 3) -> None:
        super().__init__()
        self.num_heads, self.pool = num_heads, pool
        self.norm1 = nn.LayerNorm(dim)
        self.q = nn.Linear(dim + guidance_dim, dim)
        self.k = nn.Linear(dim + guidance_dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = GatedMLP(dim, mlp_ratio)

    def forward(self, x: torch.Tensor, text_guidance: Optional[torch.Tensor] = None) -> torch.Tensor:
        b, c, t, h, w = x.shape
        y0 = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        p = F.avg_pool2d(y0, self.pool) if self.pool > 1 else y0
        hp, wp = p.shape[-2:]
        s = p.reshape(b, t, c, hp * wp).permute(0, 3, 1, 2).reshape(b * hp * wp, t, c)
        sn = self.norm1(s)
        if text_guidance is not None:
            tau = text_guidance.unsqueeze(1).expand(b, hp * wp, t, -1).reshape(b * hp * wp, t, -1)
            u = torch.cat([sn, tau], dim=-1)
        else:
            u = sn
        s = s + self.proj(_mha(self.q(u), self.k(u), self.v(sn), self.num_heads))
        s = s + F.relu6(self.mlp(self.norm2(s)))  # final ReLU6 as the original
        s = s.reshape(b, hp * wp, t, c).permute(0, 2, 3, 1).reshape(b * t, c, hp, wp)
        if (hp, wp) != (h, w):
            s = F.interpolate(s, size=(h, w), mode='bilinear', align_corners=True)
        out = y0 + s  # outer residual
        return out.reshape(b, t, c, h, w).permute(0, 2, 1, 3, 4)


class RSFusionLayer(nn.Module):
    """One RS-Fusion layer: SET per class (appearance guidance) then CET across classes (text guidance).

    ``forward(E (B, C, T, H, W), appearance (B, Cg, H, W) | None, text (B, T, Cg) | None) -> (B, C, T, H, W)``.
    Parameters with the defaults (C = 128): SET 582,912 + CET 247,680 = 830,592 (docs/methods/rskt_seg.md, Parameters).
    """

    def __init__(self, dim: int = 128, appearance_guidance_dim: int = 128, text_guidance_dim: int = 128,
                 num_heads: int = 8, sr_ratio: int = 2, class_pool: int = 2, mlp_ratio: int = 3) -> None:
        super().__init__()
        self.spatial = SpatialReductionBlock(dim, appearance_guidance_dim, num_heads, sr_ratio, mlp_ratio)
        self.klass = ClassPoolBlock(dim, text_guidance_dim, num_heads, class_pool, mlp_ratio)
        self.apply(init_rs_fusion_weights)

    def forward(self, x: torch.Tensor, appearance: Optional[torch.Tensor] = None,
                text: Optional[torch.Tensor] = None) -> torch.Tensor:
        b, c, t, h, w = x.shape
        y = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        g = appearance.repeat_interleave(t, dim=0) if appearance is not None else None  # (B*T, Cg, H, W)
        y = self.spatial(y, g)
        y = y.reshape(b, t, c, h, w).permute(0, 2, 1, 3, 4)
        return self.klass(y, text)

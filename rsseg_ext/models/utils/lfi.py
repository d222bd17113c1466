"""LFI: FCtL's local feature interaction block ``f(X_tar; {X_ref})`` (paper §3.4.2, Eq. 6-7)."""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn

from mmseg.registry import MODELS


def _split(total: int, parts: int) -> List[int]:
    base = total // parts
    return [base] * (parts - 1) + [total - base * (parts - 1)]


@MODELS.register_module()
class LocalFeatureInteraction(nn.Module):
    """Multi-kernel depthwise spatial attention from reference features onto a target.

    ``t = tok_tar(X_tar)`` (1x1, c->c); ``r_i = tok_ref_i(X_ref_i)`` (1x1, c->ref_channels each);
    ``E = act(concat_g DWConv_{k_g}(concat_i r_i)[group g])`` (channel groups, each with its own kernel size);
    ``out = X_tar + E * t`` (``residual='identity'``) or ``t + E * t`` (``'token'``, paper-literal).
    The output at a pixel depends only on references within ``max(kernel_sizes) // 2`` pixels (Chebyshev).

    Args:
        channels: ``c`` of the target and of every reference.
        num_refs: ``R``.
        kernel_sizes: depthwise kernel size per channel group (``G = len(kernel_sizes)``, channels split equally).
        ref_channels: tokens per reference (default ``c // R``); when ``R * ref_channels != c`` a 1x1 conv maps
            ``E`` to ``c`` channels.
        attn_act: ``'sigmoid'`` or ``None``.
        residual: ``'identity'`` or ``'token'``.

    Shapes: ``x_tar (B, c, h, w)``, refs ``R x (B, c, h, w)`` -> ``(B, c, h, w)``.
    """

    def __init__(self, channels: int, num_refs: int = 2, kernel_sizes: Sequence[int] = (3, 5, 7, 9),
                 ref_channels: Optional[int] = None, attn_act: Optional[str] = 'sigmoid',
                 residual: str = 'identity') -> None:
        super().__init__()
        if attn_act not in ('sigmoid', None):
            raise ValueError(f"attn_act must be 'sigmoid' or None, got {attn_act!r}")
        if residual not in ('identity', 'token'):
            raise ValueError(f"residual must be 'identity' or 'token', got {residual!r}")
        if any(k % 2 == 0 for k in kernel_sizes):
            raise ValueError(f'kernel_sizes must be odd (same-size output), got {tuple(kernel_sizes)}')
        self.num_refs, self.attn_act, self.residual = num_refs, attn_act, residual
        self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
        ref_channels = ref_channels or max(channels // num_refs, 1)
        total = ref_channels * num_refs
        self.tok_tar = nn.Conv2d(channels, channels, 1)
        self.tok_ref = nn.ModuleList(nn.Conv2d(channels, ref_channels, 1) for _ in range(num_refs))
        self.group_channels = _split(total, len(self.kernel_sizes))
        self.dw_convs = nn.ModuleList(
            nn.Conv2d(n, n, k, padding=k // 2, groups=n) for n, k in zip(self.group_channels, self.kernel_sizes))
        self.proj = nn.Conv2d(total, channels, 1) if total != channels else None

    def attention_map(self, refs: List[torch.Tensor]) -> torch.Tensor:
        """``E`` (B, c, h, w) from the references."""
        if len(refs) != self.num_refs:
            raise ValueError(f'expected {self.num_refs} reference(s), got {len(refs)}')
        x = torch.cat([tok(r) for tok, r in zip(self.tok_ref, refs)], dim=1)
        groups = x.split(self.group_channels, dim=1)
        e = torch.cat([conv(g) for conv, g in zip(self.dw_convs, groups)], dim=1)
        if self.proj is not None:
            e = self.proj(e)
        return e.sigmoid() if self.attn_act == 'sigmoid' else e

    def forward(self, x_tar: torch.Tensor, refs: List[torch.Tensor]) -> torch.Tensor:
        t = self.tok_tar(x_tar)
        base = x_tar if self.residual == 'identity' else t
        return base + self.attention_map(refs) * t

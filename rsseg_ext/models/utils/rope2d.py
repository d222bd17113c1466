"""ROPE+: 2-D rotary position embedding with separate x / y base angles (SCSM, Eqs. 11-17)."""
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmseg.registry import MODELS


@MODELS.register_module()
class ROPE2D(nn.Module):
    """2-D rotary position embedding ("ROPE+", SCSM Eqs. 11-17).

    Channels ``(2i, 2i+1)`` of a token are one complex number (interleaved pairs, "every two adjacent
    channels"). A token at grid position ``(m_x, m_y)`` (column, row) has pair ``i`` rotated by

    ``phi_i = m_x * theta_x_i + m_y * theta_y_i`` (Eq. 13: two successive rotations = one by the summed angle),

    with ``theta_x_i = base^(-2i/dim)`` and ``theta_y_i = base^(-(2i+1)/dim)`` (Eqs. 15-16, 0-indexed; the PDF's
    Eq. 16 is garbled, this is the reading where the y-frequencies sit between consecutive x-frequencies).
    Applied to both q and k, ``q'_m . k'_n`` depends only on the offset ``n - m`` (Eq. 17). Values are not rotated.

    Args:
        dim: channels per head (even).
        base: frequency base (10000 as in RoPE).
        mode: ``'mixed'`` (different x / y angles, the paper's ROPE+) or ``'identical'`` (``theta_y = theta_x``,
            the Table 6 ablation: positions (1, 0) and (0, 1) get the same rotation).
    """

    def __init__(self, dim: int, base: float = 10000.0, mode: str = 'mixed') -> None:
        super().__init__()
        if dim % 2:
            raise ValueError(f'ROPE2D needs an even channel count, got dim={dim}')
        if mode not in ('mixed', 'identical'):
            raise ValueError(f"ROPE2D mode must be 'mixed' or 'identical', got {mode!r}")
        self.dim, self.base, self.mode = dim, float(base), mode
        i = torch.arange(dim // 2, dtype=torch.float64)
        theta_x = self.base ** (-2 * i / dim)
        theta_y = theta_x.clone() if mode == 'identical' else self.base ** (-(2 * i + 1) / dim)
        # fixed, not learned; kept out of the state dict so checkpoints do not depend on the mode
        self.register_buffer('theta_x', theta_x, persistent=False)
        self.register_buffer('theta_y', theta_y, persistent=False)
        self._cache: Dict[Tuple, Tuple[Tensor, Tensor]] = {}

    def angles(self, pos_x: Tensor, pos_y: Tensor) -> Tensor:
        """Rotation angles ``phi`` of shape ``(L, dim/2)`` for positions ``pos_x, pos_y`` of shape ``(L,)``."""
        return pos_x.to(torch.float64)[:, None] * self.theta_x + pos_y.to(torch.float64)[:, None] * self.theta_y

    def get_cos_sin(self, h: int, w: int, device: Optional[torch.device] = None,
                    dtype: torch.dtype = torch.float32) -> Tuple[Tensor, Tensor]:
        """cos / sin of the angles of an ``h x w`` grid in row-major order, each ``(h*w, dim/2)``; cached
        per (h, w, device, dtype) because block shapes repeat every forward."""
        device = device if device is not None else self.theta_x.device
        key = (h, w, str(device), dtype)
        if key not in self._cache:
            ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
            phi = self.angles(xs.reshape(-1).to(self.theta_x.device), ys.reshape(-1).to(self.theta_x.device))
            self._cache[key] = (phi.cos().to(device, dtype), phi.sin().to(device, dtype))
        return self._cache[key]

    @staticmethod
    def rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        """Rotate interleaved pairs of ``x (..., L, dim)`` by angles with ``cos, sin (L, dim/2)`` (Eq. 10)."""
        x1, x2 = x[..., 0::2], x[..., 1::2]
        out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
        return out.flatten(-2)

    def forward(self, x: Tensor, hw: Tuple[int, int]) -> Tensor:
        """Apply ROPE+ to tokens of a ``hw = (h, w)`` grid.

        Args:
            x: ``(..., h*w, dim)`` tokens in row-major order (e.g. ``(N, heads, L, dim)`` queries or keys).
            hw: the grid size.

        Returns:
            the rotated tokens, same shape and dtype.
        """
        h, w = hw
        if x.shape[-2] != h * w or x.shape[-1] != self.dim:
            raise ValueError(f'ROPE2D expected (..., {h * w}, {self.dim}) for a {h}x{w} grid, got {tuple(x.shape)}')
        cos, sin = self.get_cos_sin(h, w, x.device, x.dtype)
        return self.rotate(x, cos, sin)

    def extra_repr(self) -> str:
        return f'dim={self.dim}, base={self.base}, mode={self.mode!r}'

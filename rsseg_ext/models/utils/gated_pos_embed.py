"""Gated positional embedding (GPE) of FCtL's locality-aware contextual correlation (paper Eq. 2, ConViT-style).

``A = g * A_cont + (1 - g) * A_pos`` with ``A_pos = softmax_j(v_pos . r_ij)``, ``r_ij = (|d_ij|^2, dx_ij, dy_ij)``
the offset from query pixel i (patch grid) to key pixel j (context grid), and ``g = sigmoid(z)``.
"""
from typing import Optional

import torch
import torch.nn as nn

from mmseg.registry import MODELS


def _grid_coords(h: int, w: int, device=None) -> torch.Tensor:
    """(h*w, 2) pixel-index coordinates ``(u, v) = (x, y)``, row-major."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=torch.float32),
                            torch.arange(w, device=device, dtype=torch.float32), indexing='ij')
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=-1)


@MODELS.register_module()
class GatedPositionalEmbedding(nn.Module):
    """Positional attention and the learnable content/position gate of one LCC branch.

    Args:
        pos_mode: ``'grid'`` (default; offsets in feature-grid units, scale ignored: literal ConViT) or
            ``'geometric'`` (key pixels are mapped into the patch's grid through the patch box, so the offset is
            the true ground distance at the patch's scale).
        alpha_init: ``v_pos`` starts at ``(-alpha, 0, 0)``: Gaussian-like attention centred on zero offset.
        gate_init: ``z`` starts here; ``sigmoid(1) ~ 0.73`` weight on the content attention.

    Shapes: queries on an ``(hq, wq)`` grid, keys on ``(hk, wk)``; ``A_pos`` is ``(N, N_U)`` (``'grid'``) or
    ``(B, N, N_U)`` (``'geometric'``, one box per sample).
    """

    def __init__(self, pos_mode: str = 'grid', alpha_init: float = 1.0, gate_init: float = 1.0) -> None:
        super().__init__()
        if pos_mode not in ('grid', 'geometric'):
            raise ValueError(f"pos_mode must be 'grid' or 'geometric', got {pos_mode!r}")
        self.pos_mode = pos_mode
        self.v_pos = nn.Parameter(torch.tensor([-float(alpha_init), 0.0, 0.0]))
        self.gate = nn.Parameter(torch.tensor(float(gate_init)))

    def relative_positions(self, hq: int, wq: int, hk: int, wk: int, box: Optional[torch.Tensor] = None,
                           device=None) -> torch.Tensor:
        """``r_ij``: ``(N, N_U, 3)`` (grid) or ``(B, N, N_U, 3)`` (geometric; ``box`` (B, 4) normalised x1y1x2y2)."""
        q = _grid_coords(hq, wq, device)  # (N, 2)
        k = _grid_coords(hk, wk, device)  # (N_U, 2)
        if self.pos_mode == 'geometric':
            if box is None:
                raise ValueError("pos_mode='geometric' needs the patch box of every sample")
            box = box.to(device=device, dtype=torch.float32)
            # key pixel centre -> normalised context coords -> patch-normalised -> patch grid index
            kn = (k + 0.5) / k.new_tensor([wk, hk])  # (N_U, 2)
            lo, hi = box[:, None, :2], box[:, None, 2:]  # (B, 1, 2)
            k = (kn[None] - lo) / (hi - lo) * k.new_tensor([wq, hq]) - 0.5  # (B, N_U, 2)
            d = k[:, None, :, :] - q[None, :, None, :]  # (B, N, N_U, 2)
        else:
            d = k[None, :, :] - q[:, None, :]  # (N, N_U, 2)
        return torch.cat([(d**2).sum(-1, keepdim=True), d], dim=-1)

    def positional_attention(self, hq: int, wq: int, hk: int, wk: int,
                             box: Optional[torch.Tensor] = None, device=None) -> torch.Tensor:
        """``A_pos = softmax_j(v_pos . r_ij)``: ``(N, N_U)`` or ``(B, N, N_U)``; rows sum to 1."""
        r = self.relative_positions(hq, wq, hk, wk, box, device)
        return (r @ self.v_pos).softmax(dim=-1)

    def forward(self, attn_content: torch.Tensor, attn_pos: torch.Tensor) -> torch.Tensor:
        """Gate and renormalise: ``(B, N, N_U)`` content attention + positional attention -> ``(B, N, N_U)``."""
        g = torch.sigmoid(self.gate)
        attn = g * attn_content + (1 - g) * attn_pos
        return attn / attn.sum(dim=-1, keepdim=True)  # "Norm": a no-op in exact arithmetic

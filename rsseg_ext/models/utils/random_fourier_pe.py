"""Random-Fourier-feature 2-D positional encoding (Tancik et al. 2020; the form SAM's prompt encoder uses)."""
import math
from typing import Tuple

import torch
import torch.nn as nn
from torch import Tensor


class RandomFourierPE(nn.Module):
    """Dense positional encoding of an ``h x w`` grid with a fixed random Gaussian projection.

    For cell ``(y, x)``: ``c = 2 * ((x + .5) / w, (y + .5) / h) - 1`` (x first), ``z = 2*pi * c @ G`` with
    ``G ~ N(0, scale^2)`` of shape (2, C/2), ``PE = [sin z, cos z]``. Coordinates are normalised to the current
    map, so any input size spans [-1, 1]. ``G`` is a buffer: saved in ``state_dict``, never trained.

    Args:
        embed_dims: output channels C (even).
        scale: standard deviation of ``G`` (SAM/D2LS: 1.0).

    Shapes:
        forward((h, w)) -> (1, C, h, w).
    """

    def __init__(self, embed_dims: int, scale: float = 1.0) -> None:
        super().__init__()
        if embed_dims % 2:
            raise ValueError(f'RandomFourierPE needs an even embed_dims, got {embed_dims}')
        self.register_buffer('gaussian_matrix', scale * torch.randn(2, embed_dims // 2))

    def forward(self, size: Tuple[int, int]) -> Tensor:
        h, w = size
        g = self.gaussian_matrix
        ys = (torch.arange(h, device=g.device, dtype=g.dtype) + 0.5) / h
        xs = (torch.arange(w, device=g.device, dtype=g.dtype) + 0.5) / w
        coords = torch.stack(torch.meshgrid(xs, ys, indexing='xy'), dim=-1)  # (h, w, 2) as (x, y)
        z = 2 * math.pi * ((2 * coords - 1) @ g)  # (h, w, C/2)
        return torch.cat([z.sin(), z.cos()], dim=-1).permute(2, 0, 1).unsqueeze(0)

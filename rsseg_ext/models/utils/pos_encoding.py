"""Additive positional encodings for the SCSM Table 9 ablation ("sinusoidal" and "CPVT")."""

import torch
import torch.nn as nn
from torch import Tensor

from mmseg.registry import MODELS


@MODELS.register_module()
class SinCos2DPE(nn.Module):
    """Fixed 2-D sine-cosine absolute position encoding added to a ``(N, C, H, W)`` map.

    A quarter of the channels each carry ``sin(x w_i)``, ``cos(x w_i)``, ``sin(y w_i)``, ``cos(y w_i)`` with
    ``w_i = base^(-i / (C/4))`` (ViT/MAE style); ``C`` must be divisible by 4.
    """

    def __init__(self, channels: int, base: float = 10000.0) -> None:
        super().__init__()
        if channels % 4:
            raise ValueError(f'SinCos2DPE needs channels divisible by 4, got {channels}')
        self.channels, self.base = channels, base

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        q = c // 4
        omega = self.base ** (-torch.arange(q, device=x.device, dtype=torch.float32) / q)
        ys, xs = torch.meshgrid(torch.arange(h, device=x.device, dtype=torch.float32),
                                torch.arange(w, device=x.device, dtype=torch.float32), indexing='ij')
        ax = xs[..., None] * omega
        ay = ys[..., None] * omega
        pe = torch.cat([ax.sin(), ax.cos(), ay.sin(), ay.cos()], dim=-1)  # (H, W, C)
        return x + pe.permute(2, 0, 1).to(x.dtype)[None]


@MODELS.register_module()
class PEG(nn.Module):
    """CPVT position-encoding generator: ``x + DWConv3x3(x)``, ``(N, C, H, W) -> (N, C, H, W)``."""

    def __init__(self, channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.proj = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.proj(x)

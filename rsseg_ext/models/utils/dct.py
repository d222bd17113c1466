"""Multi-spectral 2-D DCT channel attention (FcaNet), used as SCSM's scene global representation (Eqs. 19-25)."""
import math
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS

# FcaNet's ImageNet-ranked 'top' frequencies on a 7x7 grid (u: row / height index, v: column / width index).
FCA_TOP_U = [0, 0, 6, 0, 0, 1, 1, 4, 5, 1, 3, 0, 0, 0, 3, 2, 4, 6, 3, 5, 5, 2, 6, 5, 5, 3, 3, 4, 2, 2, 6, 1]
FCA_TOP_V = [0, 1, 0, 5, 2, 0, 2, 0, 0, 6, 0, 4, 6, 3, 5, 2, 6, 3, 3, 3, 5, 1, 1, 2, 4, 2, 1, 1, 3, 0, 5, 3]


def top_frequencies(num_freqs: int, dct_size: int) -> List[Tuple[int, int]]:
    """The first ``num_freqs`` FcaNet 'top' pairs ``(u, v)``, scaled from the 7x7 grid by ``dct_size // 7``."""
    if not 1 <= num_freqs <= len(FCA_TOP_U):
        raise ValueError(f'num_freqs must be in [1, {len(FCA_TOP_U)}], got {num_freqs}')
    if dct_size < 7:
        raise ValueError(f'the FcaNet frequency list lives on a 7x7 grid; dct_size (the block size) must be >= 7, '
                         f'got {dct_size}')
    scale = dct_size // 7
    return [(u * scale, v * scale) for u, v in zip(FCA_TOP_U[:num_freqs], FCA_TOP_V[:num_freqs])]


def dct_1d_basis(n: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """Orthonormal DCT-II matrix ``(n, n)``: row k, column x = ``alpha_k cos(pi (2x+1) k / (2n))`` (Eqs. 19-21)."""
    x = torch.arange(n, dtype=dtype)
    k = torch.arange(n, dtype=dtype)[:, None]
    basis = torch.cos(math.pi * (2 * x + 1) * k / (2 * n))
    alpha = torch.full((n, 1), math.sqrt(2.0 / n), dtype=dtype)
    alpha[0] = math.sqrt(1.0 / n)
    return alpha * basis


def dct_2d_filter(h: int, w: int, u: int, v: int, dtype: torch.dtype = torch.float64) -> Tensor:
    """Basis image ``B_{u,v}`` of shape ``(h, w)``: ``B^{x,y}_{u,v}`` of Eq. 22 (orthonormal)."""
    return dct_1d_basis(h, dtype)[u][:, None] * dct_1d_basis(w, dtype)[v][None, :]


@MODELS.register_module()
class DCTChannelAttention(nn.Module):
    """FcaNet multi-spectral channel attention (SCSM's "scene global representation", Eqs. 19-25).

    The ``C`` channels are split into ``num_freqs`` equal groups; group ``j`` is projected on the fixed DCT
    basis image of frequency ``(u_j, v_j)`` (Eq. 24), giving ``f in R^C`` (Eq. 25, concatenation along channels).
    Then ``s = sigmoid(W2 ReLU(W1 f))`` and the output is ``x * s``. With ``num_freqs=1`` the only frequency is
    (0, 0), ``f = P * GAP(x)``, and this is SE attention.

    The DCT filters are buffers (the paper's "pre-trained DCT base" means the frequency *ranking* comes from
    ImageNet; the bases are not learned).

    Args:
        channels: ``C``; must be divisible by ``num_freqs``.
        dct_size: side ``P`` of the DCT grid; inputs of another size are average-pooled to ``P x P`` first.
        num_freqs: ``M``, the number of FcaNet 'top' frequencies (1..32).
        reduction: FC reduction ratio ``r``.
        freq_select: only ``'top'`` (FcaNet's ImageNet ranking) is provided.
    """

    def __init__(self, channels: int, dct_size: int = 21, num_freqs: int = 16, reduction: int = 16,
                 freq_select: str = 'top') -> None:
        super().__init__()
        if freq_select != 'top':
            raise ValueError(f"only freq_select='top' (FcaNet's ranking) is implemented, got {freq_select!r}")
        if channels % num_freqs:
            raise ValueError(f'channels ({channels}) must be divisible by num_freqs ({num_freqs})')
        self.channels, self.dct_size, self.num_freqs = channels, dct_size, num_freqs
        self.freqs = top_frequencies(num_freqs, dct_size)
        group = channels // num_freqs
        filt = torch.stack([dct_2d_filter(dct_size, dct_size, u, v) for u, v in self.freqs])  # (M, P, P)
        filt = filt.repeat_interleave(group, dim=0).float()  # (C, P, P): channel c uses its group's frequency
        self.register_buffer('dct_filter', filt, persistent=False)
        hidden = max(channels // reduction, 1)
        self.fc = nn.Sequential(
            nn.Linear(channels, hidden, bias=False), nn.ReLU(inplace=True),
            nn.Linear(hidden, channels, bias=False), nn.Sigmoid())

    def spectrum(self, x: Tensor) -> Tensor:
        """Scene descriptor ``f`` (Eqs. 24-25): ``(N, C, H, W) -> (N, C)``."""
        if x.shape[-2:] != (self.dct_size, self.dct_size):
            # blocks smaller than P (tiny maps): FcaNet's fallback, resample to the DCT grid
            x = F.adaptive_avg_pool2d(x, (self.dct_size, self.dct_size))
        return torch.einsum('nchw,chw->nc', x, self.dct_filter.to(x.dtype))

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C, H, W) -> (N, C, H, W)``: ``x`` re-weighted per channel by ``sigmoid(FC(f))``."""
        s = self.fc(self.spectrum(x))
        return x * s[:, :, None, None]

    def extra_repr(self) -> str:
        return f'channels={self.channels}, dct_size={self.dct_size}, num_freqs={self.num_freqs}'

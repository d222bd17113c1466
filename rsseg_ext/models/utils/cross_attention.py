"""Multi-head cross-attention with a down-projected inner dimension, computed with
``torch.nn.functional.scaled_dot_product_attention`` (SAM-style ``Attention(downsample_rate)``).

Used by D2LS's two-way interactor (dictionary -> image and image -> dictionary, D2LS Eq. 15 in its released
form); reusable by any head that needs query/key/value attention between two token sets.
"""
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class CrossAttention(nn.Module):
    """``out_proj(MHA(q_proj(q), k_proj(k), v_proj(v)))`` with inner width ``embed_dims // downsample_rate``.

    Args:
        embed_dims: width C of the query/key/value tokens and of the output.
        num_heads: attention heads; ``embed_dims // downsample_rate`` must be divisible by it.
        downsample_rate: the projections map C -> C / downsample_rate (D2LS/SAM: 2).

    Shapes:
        q: (B, Nq, C), k: (B, Nk, C), v: (B, Nk, C) -> (B, Nq, C).
    """

    def __init__(self, embed_dims: int, num_heads: int, downsample_rate: int = 1) -> None:
        super().__init__()
        inner = embed_dims // downsample_rate
        if inner * downsample_rate != embed_dims or inner % num_heads != 0:
            raise ValueError(f'embed_dims={embed_dims} / downsample_rate={downsample_rate} must be an integer '
                             f'divisible by num_heads={num_heads}')
        self.embed_dims = embed_dims
        self.inner_dims = inner
        self.num_heads = num_heads
        self.q_proj = nn.Linear(embed_dims, inner)
        self.k_proj = nn.Linear(embed_dims, inner)
        self.v_proj = nn.Linear(embed_dims, inner)
        self.out_proj = nn.Linear(inner, embed_dims)

    def _split(self, x: Tensor) -> Tensor:
        b, n, _ = x.shape
        return x.reshape(b, n, self.num_heads, self.inner_dims // self.num_heads).transpose(1, 2)

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        q, k, v = self._split(self.q_proj(q)), self._split(self.k_proj(k)), self._split(self.v_proj(v))
        # SDPA: softmax(q k^T / sqrt(d)) v without materialising the (Nq, Nk) map outside the kernel
        out = F.scaled_dot_product_attention(q, k, v)  # (B, heads, Nq, d)
        b, _, n, _ = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, self.inner_dims))

"""LCC: locality-aware contextual correlation, one block per FCtL branch (paper Eq. 1-2; projections as the
authors' code)."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.model.weight_init import normal_init

from mmseg.registry import MODELS

from .gated_pos_embed import GatedPositionalEmbedding


@MODELS.register_module()
class LocalityAwareContextCorrelation(nn.Module):
    """Cross-attention from the patch features to one context's features, optionally gated with a positional
    attention (GPE).

    ``Q = W_q X_I``, ``K = W_k X_U``, ``V = W_v X_U`` (1x1 convs), ``A = softmax_j(Q^T K)`` (no 1/sqrt(d) scaling,
    as the code), mixed with GPE if enabled, and ``out = gamma * (V A^T)`` with ``gamma`` a zero-initialised scalar
    (so the block is an identity-preserving residual term at initialisation).

    Args:
        in_channels: ``c`` of both inputs.
        key_channels: ``d`` of queries and keys (512 in the code).
        value_source: ``'context'`` (code: values from ``X_U``) or ``'local'`` (paper's ``M_U (x) X_I``).
        use_gpe: mix in the gated positional attention.
        gpe_pos_mode, gpe_alpha_init, gate_init: see :class:`GatedPositionalEmbedding`.
        zero_init_gamma: start ``gamma`` at 0 (code); else at 1.
        attn_scale: optional factor on ``Q^T K`` before the softmax (``None``: 1, as the code).

    Shapes: ``x_local (B, c, h, w)``, ``x_ctx (B, c, h_U, w_U)`` -> ``(B, c, h, w)``.
    """

    def __init__(self, in_channels: int, key_channels: int = 512, value_source: str = 'context',
                 use_gpe: bool = True, gpe_pos_mode: str = 'grid', gpe_alpha_init: float = 1.0,
                 gate_init: float = 1.0, zero_init_gamma: bool = True, attn_scale: Optional[float] = None) -> None:
        super().__init__()
        if value_source not in ('context', 'local'):
            raise ValueError(f"value_source must be 'context' or 'local', got {value_source!r}")
        self.value_source = value_source
        self.attn_scale = attn_scale
        self.query = nn.Conv2d(in_channels, key_channels, 1)
        self.key = nn.Conv2d(in_channels, key_channels, 1)
        self.value = nn.Conv2d(in_channels, in_channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.tensor(0.0 if zero_init_gamma else 1.0))
        self.gpe = GatedPositionalEmbedding(gpe_pos_mode, gpe_alpha_init, gate_init) if use_gpe else None
        for conv in (self.query, self.key, self.value):
            normal_init(conv, mean=0, std=0.01, bias=0)

    def attention(self, x_local: torch.Tensor, x_ctx: torch.Tensor,
                  box: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The attention map ``A`` (B, N, N_U); every row sums to 1. ``box`` (B, 4) only for geometric GPE."""
        b, _, h, w = x_local.shape
        hk, wk = x_ctx.shape[-2:]
        q = self.query(x_local).flatten(2)  # (B, d, N)
        k = self.key(x_ctx).flatten(2)  # (B, d, N_U)
        logits = q.transpose(1, 2) @ k  # (B, N, N_U)
        if self.attn_scale is not None:
            logits = logits * self.attn_scale
        attn = logits.softmax(dim=-1)
        if self.gpe is not None:
            pos = self.gpe.positional_attention(h, w, hk, wk, box, device=x_local.device).to(attn.dtype)
            attn = self.gpe(attn, pos if pos.dim() == 3 else pos[None])
        return attn

    def forward(self, x_local: torch.Tensor, x_ctx: torch.Tensor,
                box: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``Xbar_{I|U}`` (B, c, h, w)."""
        b, c, h, w = x_local.shape
        attn = self.attention(x_local, x_ctx, box)
        src = x_ctx if self.value_source == 'context' else x_local
        if self.value_source == 'local' and attn.shape[-1] != h * w:
            raise ValueError("value_source='local' needs contexts with the patch's feature size")
        v = self.value(src).flatten(2)  # (B, c, N_U)
        out = (v @ attn.transpose(1, 2)).view(b, c, h, w)
        return self.gamma * out

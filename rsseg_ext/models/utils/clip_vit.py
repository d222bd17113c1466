"""A version-independent forward through an open_clip ``VisionTransformer`` (used by RSKT-Seg's CLIP and RemoteCLIP
image encoders).

open_clip is used only to build the model and hold the weights: its ``VisionTransformer.forward`` changes between
versions (batch-first vs sequence-first blocks, ``attn_pool``, ``pool_type``, ``output_tokens``), so the token
pipeline is written out here, batch-first throughout:

``conv1`` -> CLS concat -> + position embedding resized to the token grid -> ``ln_pre`` -> residual blocks
(hook outputs collected) -> optional dense last block (CAT-Seg value trick) -> ``ln_post`` on all tokens -> ``proj``.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ['resize_clip_pos_embed', 'clip_vit_embed', 'clip_block', 'clip_dense_block', 'tokens_to_map',
           'mha_value_proj']


def resize_clip_pos_embed(pos: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
    """Position embedding ``(1 + g0*g0, W)`` -> ``(1 + gh*gw, W)``: the patch part is resized bicubically
    (``align_corners=False``), the CLS entry is kept. Identity (same tensor values) at the native grid."""
    n = pos.shape[0] - 1
    g0 = int(round(n**0.5))
    if g0 * g0 != n:
        raise ValueError(f'position embedding with {n} patch entries is not a square grid')
    if (g0, g0) == tuple(grid):
        return pos
    patch = pos[1:].reshape(1, g0, g0, -1).permute(0, 3, 1, 2)
    patch = F.interpolate(patch.float(), size=tuple(grid), mode='bicubic', align_corners=False).to(pos.dtype)
    return torch.cat([pos[:1], patch.permute(0, 2, 3, 1).reshape(grid[0] * grid[1], -1)], dim=0)


def clip_vit_embed(visual: nn.Module, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """Image ``(B, 3, H, W)`` -> tokens ``(B, 1 + gh*gw, W)`` after ``ln_pre``, and the grid ``(gh, gw)``."""
    x = visual.conv1(x.to(visual.conv1.weight.dtype))  # (B, W, gh, gw)
    b, w, gh, gw = x.shape
    x = x.flatten(2).transpose(1, 2)
    cls = visual.class_embedding.to(x.dtype).view(1, 1, w).expand(b, 1, w)
    x = torch.cat([cls, x], dim=1)
    x = x + resize_clip_pos_embed(visual.positional_embedding, (gh, gw)).to(x.dtype)
    return visual.ln_pre(x), (gh, gw)


def _ls(block: nn.Module, name: str, x: torch.Tensor) -> torch.Tensor:
    ls = getattr(block, name, None)
    return ls(x) if ls is not None else x


def clip_block(block: nn.Module, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """One open_clip ``ResidualAttentionBlock`` on batch-first tokens ``(B, L, W)``, whatever the block's own
    ``batch_first`` setting."""
    y = block.ln_1(x)
    attn: nn.MultiheadAttention = block.attn
    if not getattr(attn, 'batch_first', False):
        y = y.transpose(0, 1)
        a = attn(y, y, y, need_weights=False, attn_mask=attn_mask)[0].transpose(0, 1)
    else:
        a = attn(y, y, y, need_weights=False, attn_mask=attn_mask)[0]
    x = x + _ls(block, 'ls_1', a)
    return x + _ls(block, 'ls_2', block.mlp(block.ln_2(x)))


def mha_value_proj(attn: nn.MultiheadAttention, y: torch.Tensor) -> torch.Tensor:
    """The value projection ``y W_v^T + b_v`` of an MHA (packed or split layout)."""
    e = attn.embed_dim
    w = attn.v_proj_weight if not attn._qkv_same_embed_dim else attn.in_proj_weight[2 * e:]
    b = attn.in_proj_bias[2 * e:] if attn.in_proj_bias is not None else None
    return F.linear(y, w, b)


def clip_dense_block(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """CAT-Seg's dense last block: every token gets ``out_proj(v_proj(LN_1(x)))`` plus the CLS residual, then the
    MLP. Tokens ``(B, L, W)`` -> ``(B, L, W)``; no token attends to another (keeps patch features local)."""
    y = block.ln_1(x)
    v = block.attn.out_proj(mha_value_proj(block.attn, y))
    z = _ls(block, 'ls_1', v) + x[:, :1]  # CLS residual broadcast to every token
    return z + _ls(block, 'ls_2', block.mlp(block.ln_2(z)))


def tokens_to_map(tokens: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
    """Patch tokens ``(B, 1 + gh*gw, C)`` (CLS first) -> map ``(B, C, gh, gw)`` (row-major)."""
    b, _, c = tokens.shape
    return tokens[:, 1:].transpose(1, 2).reshape(b, c, grid[0], grid[1])


def run_blocks(blocks: Sequence[nn.Module], x: torch.Tensor, out_indices: Sequence[int],
               stop: Optional[int] = None) -> Tuple[torch.Tensor, List[torch.Tensor]]:
    """Run ``blocks[:stop]`` (all when None) on ``(B, L, W)``; returns the last tokens and the outputs of the
    blocks in ``out_indices`` (0-based)."""
    hooks = []
    for i, blk in enumerate(blocks[:stop] if stop is not None else blocks):
        x = clip_block(blk, x)
        if i in out_indices:
            hooks.append(x)
    return x, hooks

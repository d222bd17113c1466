"""RSKT-Seg's cost aggregation neck: RS-CMA cost maps (Eqs. 1-3) + RS-Fusion layers (Eqs. 4-7).

Follows the split of mmseg's CAT-Seg project: the backbone gives CLIP features and text embeddings, the neck builds
and aggregates the image-text cost volume, the decode head upsamples it to per-class logits.
"""
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmseg.registry import MODELS
from .rs_fusion import RSFusionLayer

__all__ = ['RSKTCostAggregator', 'cosine_cost']

COST_FUSIONS = ('separate', 'concat', 'mean', 'clip_only')


def cosine_cost(feat: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """Eq. 1: cosine similarity of every pixel with every (class, template) embedding.

    Args:
        feat: ``(B, Ce, H, W)`` image features (normalised here).
        text: ``(T, P, Ce)`` or ``(B, T, P, Ce)`` text embeddings (normalised here).

    Returns:
        ``(B, P, T, H, W)`` costs in ``[-1, 1]``.
    """
    feat = F.normalize(feat, dim=1)
    text = F.normalize(text, dim=-1)
    if text.dim() == 3:
        return torch.einsum('bchw,tpc->bpthw', feat, text)
    return torch.einsum('bchw,btpc->bpthw', feat, text)


@MODELS.register_module()
class RSKTCostAggregator(BaseModule):
    """RS-CMA + RS-Fusion.

    Cost maps: the R rotation-aligned CLIP maps give ``C_clip (B, R*P, T, g, g)`` (channel ``k*P + p``,
    rotation-major); the DINO map (last block, ``(B, Dd, 2g, 2g)``) is projected by a learnable 2x2 stride-2 conv
    to ``(B, Ce, g, g)`` and gives ``C_dino (B, P, T, g, g)``. Fusion (per batch and class, 7x7 convs):

    * ``'separate'`` (default, all released configs): ``E = sig(conv([sig(conv(C_clip)); sig(conv(C_dino))]))
      + sig(conv(C_clip))``;
    * ``'concat'``: ``E = conv([C_clip; C_dino])``; ``'mean'``: ``E = conv(mean_channels([C_clip; C_dino]))``;
    * ``'clip_only'`` (ablation without DINO cost, CAT-Seg's embedding): ``E = conv(C_clip)``.

    Then N :class:`RSFusionLayer` with appearance guidance ``ReLU(conv3x3(F_0))`` (un-rotated CLIP dense map) and
    text guidance ``ReLU(Linear(normalize(mean_P(t))))``.

    Args:
        embed_dim: Ce (512 for ViT-B/16, 768 for ViT-L/14).
        dino_dim: DINO width (768); ignored when ``cost_fusion='clip_only'``.
        hidden_dim: C (128).
        num_layers: N RS-Fusion layers.
        num_heads, sr_ratio, class_pool, mlp_ratio: RS-Fusion settings (8, 2, 2, 3; the original hard-codes them).
        num_rotations: R (length of the backbone's ``rotations``).
        num_templates: P.
        cost_fusion: see above.
        appearance_guidance_dim, text_guidance_dim: guidance projections (0 disables that guidance).
        embed_kernel: kernel of the cost-embedding convs (7).

    ``forward(feats)`` takes the backbone dict plus ``text (T, P, Ce)`` and ``dino [.., dino_last (B, Dd, 2g, 2g)]``
    and returns it with ``cost (B, C, T, g, g)`` added.
    """

    def __init__(self,
                 embed_dim: int = 512,
                 dino_dim: int = 768,
                 hidden_dim: int = 128,
                 num_layers: int = 5,
                 num_heads: int = 8,
                 sr_ratio: int = 2,
                 class_pool: int = 2,
                 mlp_ratio: int = 3,
                 num_rotations: int = 4,
                 num_templates: int = 1,
                 cost_fusion: str = 'separate',
                 appearance_guidance_dim: int = 128,
                 text_guidance_dim: int = 128,
                 embed_kernel: int = 7,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if cost_fusion not in COST_FUSIONS:
            raise ValueError(f'cost_fusion must be one of {COST_FUSIONS}, got {cost_fusion!r}')
        if cost_fusion == 'mean' and num_templates != 1:
            raise ValueError("cost_fusion='mean' only works with one prompt template")
        self.cost_fusion = cost_fusion
        self.use_dino_cost = cost_fusion != 'clip_only'
        self.num_rotations, self.num_templates = num_rotations, num_templates
        rp, p, c, pad = num_rotations * num_templates, num_templates, hidden_dim, embed_kernel // 2
        conv = lambda i, o: nn.Conv2d(i, o, embed_kernel, padding=pad)  # noqa: E731
        if self.use_dino_cost:
            # learnable DINO -> CLIP text space projection (Eq. 2 needs a shared space)
            self.dino_proj = nn.Conv2d(dino_dim, embed_dim, 2, 2)
        if cost_fusion == 'separate':
            self.embed_clip, self.embed_dino, self.embed_fuse = conv(rp, c), conv(p, c), conv(2 * c, c)
        elif cost_fusion == 'concat':
            self.embed = conv(rp + p, c)
        elif cost_fusion == 'mean':
            self.embed = conv(1, c)
        else:
            self.embed = conv(rp, c)
        self.appearance_proj = nn.Sequential(
            nn.Conv2d(embed_dim, appearance_guidance_dim, 3, padding=1),
            nn.ReLU()) if appearance_guidance_dim else None
        self.text_proj = nn.Sequential(nn.Linear(embed_dim, text_guidance_dim),
                                       nn.ReLU()) if text_guidance_dim else None
        self.layers = nn.ModuleList(
            RSFusionLayer(hidden_dim, appearance_guidance_dim, text_guidance_dim, num_heads, sr_ratio, class_pool,
                          mlp_ratio) for _ in range(num_layers))

    def _per_class(self, conv: nn.Conv2d, cost: torch.Tensor) -> torch.Tensor:
        """``(B, K, T, H, W)`` -> conv over K per (b, t) -> ``(B, C, T, H, W)``."""
        b, k, t, h, w = cost.shape
        out = conv(cost.transpose(1, 2).reshape(b * t, k, h, w))
        return out.reshape(b, t, -1, h, w).transpose(1, 2)

    def cost_maps(self, feats: Dict) -> Dict[str, torch.Tensor]:
        """``clip (B, R*P, T, g, g)`` and (when used) ``dino (B, P, T, g, g)`` cosine costs."""
        text = feats['text']
        dense: List[torch.Tensor] = feats['clip_dense']
        if len(dense) != self.num_rotations:
            raise ValueError(f'expected {self.num_rotations} rotated CLIP maps, got {len(dense)}')
        out = dict(clip=torch.cat([cosine_cost(f, text) for f in dense], dim=1))  # rotation-major channels
        if self.use_dino_cost:
            out['dino'] = cosine_cost(self.dino_proj(feats['dino'][-1]), text)
        return out

    def embed_cost(self, costs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Eq. 3 and the embedding into C_s: ``(B, C, T, g, g)``."""
        if self.cost_fusion == 'separate':
            e_clip = torch.sigmoid(self._per_class(self.embed_clip, costs['clip']))
            e_dino = torch.sigmoid(self._per_class(self.embed_dino, costs['dino']))
            return torch.sigmoid(self._per_class(self.embed_fuse, torch.cat([e_clip, e_dino], 1))) + e_clip
        if self.cost_fusion == 'concat':
            return self._per_class(self.embed, torch.cat([costs['clip'], costs['dino']], 1))
        if self.cost_fusion == 'mean':
            return self._per_class(self.embed, torch.cat([costs['clip'], costs['dino']], 1).mean(1, keepdim=True))
        return self._per_class(self.embed, costs['clip'])

    def forward(self, feats: Dict) -> Dict:
        text = feats['text']  # (T, P, Ce) or (B, T, P, Ce)
        b = feats['clip_dense'][0].shape[0]
        x = self.embed_cost(self.cost_maps(feats))
        app = self.appearance_proj(feats['clip_dense'][0]) if self.appearance_proj is not None else None
        txt = None
        if self.text_proj is not None:
            t = F.normalize(text.mean(-2), dim=-1)  # mean over templates, re-normalised
            txt = self.text_proj(t if t.dim() == 3 else t.unsqueeze(0).expand(b, -1, -1))  # (B, T, Cg)
        for layer in self.layers:
            x = layer(x, app, txt)
        return dict(feats, cost=x)

"""DINO ViT (RSKT-Seg's frozen RS-DINO ViT-B/8, §2.4) with the DINO/timm parameter names.

Written out instead of wrapping timm, which rsseg_ext does not depend on; the blocks are the package's one ViT block
(:class:`~.kk_vit.NKKBlock` with query-key attention and no prior). The parameter names are
the ones of the official DINO ``vision_transformer.py`` and of timm's ``VisionTransformer`` (``cls_token``,
``pos_embed``, ``patch_embed.proj``, ``blocks.i.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}``, ``norm``), so
a DINO checkpoint's ``teacher`` weights load after stripping the ``module.``/``backbone.`` prefixes.
"""
import argparse
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmseg.registry import MODELS
from ..utils.clip_vit import resize_clip_pos_embed
from ..utils.weight_loading import load_weights, require_local_file
from .kk_vit import NKKBlock

__all__ = ['DINOViTEncoder', 'load_dino_checkpoint']

RS_DINO_SOURCE = ('RSIB.pth, the "Remote-Sensing Image Backbone" DINO ViT-B/8 of GSNet (Ye et al., AAAI 2025), linked '
                  'from the RSKT-Seg README (github.com/LiBingyu01/RSKT-Seg)')


class _PatchEmbed(nn.Module):

    def __init__(self, patch_size: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch_size, patch_size)


def load_dino_checkpoint(path: str, checkpoint_key: Optional[str] = 'teacher',
                         strip_prefixes: Sequence[str] = ('module.', 'backbone.'),
                         config_key: str = 'model.dino.checkpoint') -> dict:
    """Read a DINO-format checkpoint: ``{checkpoint_key: {prefix + name: tensor}}`` (full DINO training checkpoints
    also hold ``args``, an ``argparse.Namespace``, allowed for the safe loader) or a plain state dict."""
    full = require_local_file(path, 'RS-DINO ViT weights', RS_DINO_SOURCE, config_key)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            obj = torch.load(full, map_location='cpu', weights_only=True)
    except Exception as e:  # noqa: BLE001 -- re-raised with the file named
        raise RuntimeError(f'Could not read the DINO weights at {full}: {type(e).__name__}: {e}') from e
    if checkpoint_key and isinstance(obj, dict) and isinstance(obj.get(checkpoint_key), dict):
        obj = obj[checkpoint_key]
    elif isinstance(obj, dict) and isinstance(obj.get('state_dict'), dict):
        obj = obj['state_dict']
    sd = {}
    for k, v in obj.items():
        if not isinstance(v, torch.Tensor):
            continue
        for p in strip_prefixes:
            if k.startswith(p):
                k = k[len(p):]
        sd[k] = v
    return sd


@MODELS.register_module()
class DINOViTEncoder(BaseModule):
    """DINO ViT -> LayerNorm'ed intermediate patch maps (``get_intermediate_layers(norm=True)`` of DINO).

    Args:
        patch_size, embed_dim, depth, num_heads, mlp_ratio: ViT-B/8 by default (qkv bias, LN eps 1e-6, CLS token).
        pretrain_img_size: the grid the position embedding is stored at (224 -> 28 x 28); it is resized
            bicubically to the working grid on every forward.
        pos_embed_resize: how: ``'size'`` (default: ``interpolate(size=(48, 48))``, sampling at ratio 28/48) or
            ``'scale_factor'`` (release-compatible mode: DINO's ``interpolate_pos_encoding``, which the RSKT-Seg
            release keeps with the constant ``scale_factor=1.717857142857143`` = ``(48 + 0.1) / 28``: the output is
            still 48 x 48 but sampled at ratio 28/48.1; per axis ``(g + 0.1) / g0`` here, the release's constant
            at 384 / 8). The two tables differ by up to ~2e-3 in the logits of a converted model.
        input_size: square working size (384 -> 48 x 48 tokens).
        out_indices: 0-based blocks returned (RSKT-Seg: (3, 7) guidance, 11 cost map).
        final_norm_on_all: apply the final ``norm`` to every returned block (DINO's ``get_intermediate_layers``).
        checkpoint: local DINO weights (RS-DINO ``RSIB.pth``); loaded by ``init_weights``.
        checkpoint_key, strip_prefixes: where the backbone weights sit in the file.
        finetune: ``'frozen'`` (paper), ``'attention'`` (``attn.qkv.weight`` + ``pos_embed``, Table 6) or ``'full'``.
        allow_random_init: allow ``checkpoint=None``.

    Input: the CLIP-normalised image (authors' code: DINO does not get ImageNet normalisation). ``forward(x (B,3,H,W))``
    -> list of ``(B, D, g, g)`` with ``g = input_size / patch_size``.
    """

    def __init__(self,
                 patch_size: int = 8,
                 embed_dim: int = 768,
                 depth: int = 12,
                 num_heads: int = 12,
                 mlp_ratio: float = 4.0,
                 pretrain_img_size: int = 224,
                 pos_embed_resize: str = 'size',
                 input_size: int = 384,
                 out_indices: Sequence[int] = (3, 7, 11),
                 final_norm_on_all: bool = True,
                 checkpoint: Optional[str] = None,
                 checkpoint_key: Optional[str] = 'teacher',
                 strip_prefixes: Sequence[str] = ('module.', 'backbone.'),
                 finetune: str = 'frozen',
                 allow_random_init: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if checkpoint is None and not allow_random_init:
            raise ValueError(f'DINOViTEncoder needs checkpoint=<local weights file> (or allow_random_init=True). '
                             f'Get {RS_DINO_SOURCE}.')
        if finetune not in ('frozen', 'attention', 'full'):
            raise ValueError(f"finetune must be 'frozen', 'attention' or 'full', got {finetune!r}")
        if pos_embed_resize not in ('size', 'scale_factor'):
            raise ValueError(f"pos_embed_resize must be 'size' or 'scale_factor', got {pos_embed_resize!r}")
        self.pos_embed_resize = pos_embed_resize
        self.patch_size = patch_size
        self.input_size = int(input_size)
        self.out_indices = tuple(int(i) for i in out_indices)
        self.final_norm_on_all = final_norm_on_all
        self.checkpoint, self.checkpoint_key, self.strip_prefixes = checkpoint, checkpoint_key, tuple(strip_prefixes)
        self.finetune = finetune
        g = pretrain_img_size // patch_size
        self.patch_embed = _PatchEmbed(patch_size, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, g * g + 1, embed_dim))
        # DINO's block: qkv bias, GELU, LN eps 1e-6, scale head_dim^-0.5 (NKKBlock's plain-attention setting)
        self.blocks = nn.ModuleList(
            NKKBlock(embed_dim, num_heads, mlp_ratio, key_key=False, gaussian_prior=False, norm_eps=1e-6)
            for _ in range(depth))
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self._set_trainable()

    def _set_trainable(self) -> None:
        self.requires_grad_(self.finetune == 'full')
        if self.finetune == 'attention':
            self.pos_embed.requires_grad_(True)
            for blk in self.blocks:
                blk.attn.qkv.weight.requires_grad_(True)

    @property
    def frozen(self) -> bool:
        return self.finetune == 'frozen'

    def init_weights(self) -> None:
        if self.checkpoint is None:
            return
        sd = load_dino_checkpoint(self.checkpoint, self.checkpoint_key, self.strip_prefixes)
        # DINO-head keys (head.*) and anything else outside the backbone are reported as unexpected and skipped
        load_weights(self, sd, key_map=lambda k: None if k.startswith('head.') else k, strict=True,
                     what=f'RS-DINO weights {self.checkpoint}')

    def train(self, mode: bool = True) -> 'DINOViTEncoder':
        return super().train(mode and not self.frozen)

    def resized_pos_embed(self, gh: int, gw: int) -> torch.Tensor:
        """``(1, 1 + gh * gw, D)``: the stored table resized to the working grid (see ``pos_embed_resize``)."""
        if self.pos_embed_resize == 'size':
            return resize_clip_pos_embed(self.pos_embed[0], (gh, gw)).unsqueeze(0)
        n = self.pos_embed.shape[1] - 1
        g0 = int(round(n**0.5))
        if (gh, gw) == (g0, g0):  # DINO returns the table untouched at its own grid
            return self.pos_embed
        patch = self.pos_embed[:, 1:].reshape(1, g0, g0, -1).permute(0, 3, 1, 2)
        # DINO adds 0.1 "to avoid floating point error in the interpolation" (facebookresearch/dino#8)
        patch = F.interpolate(patch, scale_factor=((gh + 0.1) / g0, (gw + 0.1) / g0), mode='bicubic')
        if tuple(patch.shape[-2:]) != (gh, gw):
            raise ValueError(f'scale-factor resize of the {g0} x {g0} position table gave {tuple(patch.shape[-2:])}, '
                             f'not {(gh, gw)}')
        return torch.cat([self.pos_embed[:, :1], patch.permute(0, 2, 3, 1).reshape(1, gh * gw, -1)], dim=1)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            if x.shape[-2:] != (self.input_size, self.input_size):
                x = F.interpolate(x, size=(self.input_size, ) * 2, mode='bilinear', align_corners=False)
            x = self.patch_embed.proj(x)  # (B, D, g, g)
            b, d, gh, gw = x.shape
            x = torch.cat([self.cls_token.expand(b, -1, -1), x.flatten(2).transpose(1, 2)], dim=1)
            x = x + self.resized_pos_embed(gh, gw)
            outs = []
            for i, blk in enumerate(self.blocks[:max(self.out_indices) + 1]):
                x = blk(x)
                if i in self.out_indices:
                    y = self.norm(x) if self.final_norm_on_all or i == len(self.blocks) - 1 else x
                    outs.append(y[:, 1:].transpose(1, 2).reshape(b, d, gh, gw))
            return outs

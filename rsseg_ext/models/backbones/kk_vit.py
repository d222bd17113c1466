"""Neighbourhood Key-Key ViT (NKKViT), the visual encoder of LoVLANet.

Zeng et al., "Pixel's Neighbors Are Noteworthy: Localized Vision-Language Attention for Remote Sensing Semantic
Segmentation", Remote Sensing 2026 (Sec. 2.2, Neighborhood Key-Key Encoder;
inferred details in docs/methods/lovlanet.md).

A plain pre-norm ViT (timm ``vit_base_patch32_224`` layout, or the open_clip/RemoteCLIP image tower with
``pre_norm=True, patch_bias=False``) whose self-attention is replaced by

    Attn_NA(K, V) = softmax(K K^T / sqrt(d) + G) V,   G_ij = exp(-|p_i - p_j|^2 / (2 sigma^2))      (paper eqs.)

with p_i integer token-grid coordinates (sigma in token units, one token = ``patch_size`` pixels). The query
projection is deleted (the parameter count proves it: 12 x (768*768 + 768) = 7.09M, Table 6). The final block
drops its FFN (and by default its residual, NACLIP's "reduced" block). No CLS token, no head.

Ablation flags are independent: ``key_key`` (QK -> KK), ``gaussian_prior`` (+G), ``reduce_last_mlp``.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath
from mmengine.logging import print_log
from mmengine.model import BaseModule

from mmseg.registry import MODELS
from ..utils.weight_loading import load_local_state_dict, load_weights

__all__ = ['NKKViT', 'NKKAttention', 'NKKBlock', 'gaussian_prior', 'convert_timm_vit', 'convert_open_clip_visual']

#: where to get the visual weights named by the configs (quoted in missing-file errors)
VISUAL_WEIGHT_SOURCES = {
    'timm': 'https://huggingface.co/timm/vit_base_patch32_224.augreg_in21k_ft_in1k (model.safetensors); '
            'or run tools/model_converters on a timm checkpoint',
    'open_clip': 'https://huggingface.co/chendelong/RemoteCLIP (RemoteCLIP-ViT-B-32.pt, its visual.* tensors) '
                 'or any open_clip ViT-B-32 state dict',
}

_PRIOR_CACHE: Dict[Tuple, torch.Tensor] = {}


def gaussian_prior(h: int, w: int, sigma: float, device: Optional[torch.device] = None,
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Gaussian neighbourhood prior on an ``h x w`` token grid.

    Returns:
        G of shape ``(h*w, h*w)``, ``G_ij = exp(-|p_i - p_j|^2 / (2 sigma^2))`` with ``p = (row, col)`` integer token
        coordinates and row-major flattening (paper Sec. 2.2). Symmetric, diagonal 1, values in (0, 1].
    """
    key = (h, w, float(sigma), str(device), dtype)
    g = _PRIOR_CACHE.get(key)
    if g is None:
        rows, cols = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64),
                                    indexing='ij')
        p = torch.stack([rows.flatten(), cols.flatten()], dim=-1)  # (N, 2)
        d2 = (p[:, None, :] - p[None, :, :]).pow(2).sum(-1)  # (N, N)
        g = torch.exp(-d2 / (2.0 * float(sigma)**2)).to(device=device, dtype=dtype)
        if len(_PRIOR_CACHE) > 32:  # a few input sizes per run; bound the memory
            _PRIOR_CACHE.clear()
        _PRIOR_CACHE[key] = g
    return g


class NKKAttention(nn.Module):
    """Multi-head attention with optional key-key logits and an additive Gaussian prior.

    Args:
        dim: token width C.
        num_heads: heads; per-head dim d = C / num_heads, logits scaled by 1/sqrt(d).
        key_key: logits ``K K^T`` (query projection deleted: ``kv`` is a C -> 2C linear); else ``Q K^T`` (``qkv``).
        gaussian_prior: add G (unscaled, after the 1/sqrt(d) scaling, same for all heads; Sec. 2.2, order inferred).
        sigma: Gaussian width in tokens.
        qkv_bias: bias of the input projection.
        use_sdpa: fused ``F.scaled_dot_product_attention`` (query := key, G as float mask); the manual path is kept
            for equivalence tests and for returning attention maps.

    Shapes: ``forward(x (B, N, C), hw=(h, w))`` -> ``(B, N, C)`` with ``N = h*w``.
    """

    def __init__(self, dim: int, num_heads: int, key_key: bool = True, gaussian_prior: bool = True,
                 sigma: float = 2.0, qkv_bias: bool = True, attn_drop: float = 0., proj_drop: float = 0.,
                 use_sdpa: bool = True) -> None:
        super().__init__()
        assert dim % num_heads == 0, f'dim {dim} not divisible by num_heads {num_heads}'
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.key_key = key_key
        self.gaussian_prior = gaussian_prior
        self.sigma = sigma
        self.use_sdpa = use_sdpa
        if key_key:
            self.kv = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        else:
            self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def _qkv(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        b, n, c = x.shape
        if self.key_key:
            k, v = self.kv(x).view(b, n, 2, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
            return k, k, v  # query := key
        q, k, v = self.qkv(x).view(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        return q, k, v

    def _bias(self, hw: Optional[Tuple[int, int]], x: torch.Tensor) -> Optional[torch.Tensor]:
        if not self.gaussian_prior:
            return None
        if hw is None:
            raise ValueError('the Gaussian prior needs the token grid: call with hw=(h, w)')
        return gaussian_prior(hw[0], hw[1], self.sigma, x.device, x.dtype)

    def attention_map(self, x: torch.Tensor, hw: Tuple[int, int]) -> torch.Tensor:
        """Post-softmax attention ``(B, heads, N, N)`` (manual path; rows sum to 1)."""
        return self.logits(x, hw).softmax(-1)

    def logits(self, x: torch.Tensor, hw: Tuple[int, int]) -> torch.Tensor:
        """Pre-softmax logits ``(B, heads, N, N)``: ``K K^T / sqrt(d) (+ G)``."""
        q, k, _ = self._qkv(x)
        logits = (q * self.scale) @ k.transpose(-2, -1)
        bias = self._bias(hw, x)
        return logits if bias is None else logits + bias

    def forward(self, x: torch.Tensor, hw: Optional[Tuple[int, int]] = None) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self._qkv(x)
        bias = self._bias(hw, x)
        drop = self.attn_drop if self.training else 0.
        if self.use_sdpa:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=None if bias is None else bias[None, None],
                                                 dropout_p=drop)
        else:
            logits = (q * self.scale) @ k.transpose(-2, -1)
            if bias is not None:
                logits = logits + bias
            attn = F.dropout(logits.softmax(-1), drop, self.training)
            out = attn @ v
        out = out.transpose(1, 2).reshape(b, n, c)
        return self.proj_drop(self.proj(out))


class Mlp(nn.Module):
    """C -> hidden -> C feed-forward (timm naming ``fc1``/``fc2``)."""

    def __init__(self, dim: int, hidden: int, act: str = 'gelu', drop: float = 0.) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        if act == 'quick_gelu':  # OpenAI/RemoteCLIP image towers were trained with it
            from open_clip.transformer import QuickGELU  # optional dependency, imported where needed
            self.act = QuickGELU()
        else:
            self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class NKKBlock(nn.Module):
    """Pre-norm block ``x + DropPath(Attn(LN1(x)))``, ``x + DropPath(MLP(LN2(x)))``: the one ViT block of the
    package (``key_key=False, gaussian_prior=False`` is the plain ViT block of timm/DINO, same parameter names;
    ``DINOViTEncoder`` uses it so).

    ``reduce_mlp=True`` deletes LN2 and the FFN (ReduceMLP); ``residual=False`` additionally drops the attention
    residual, so the block computes ``Attn(LN1(x))`` (NACLIP's reduced last block; inferred).
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4., key_key: bool = True,
                 gaussian_prior: bool = True, sigma: float = 2.0, qkv_bias: bool = True, drop: float = 0.,
                 attn_drop: float = 0., drop_path: float = 0., norm_eps: float = 1e-6, act: str = 'gelu',
                 reduce_mlp: bool = False, residual: bool = True, use_sdpa: bool = True) -> None:
        super().__init__()
        self.residual = residual
        self.reduce_mlp = reduce_mlp
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = NKKAttention(dim, num_heads, key_key, gaussian_prior, sigma, qkv_bias, attn_drop, drop,
                                 use_sdpa)
        self.drop_path = DropPath(drop_path)
        if not reduce_mlp:
            self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
            self.mlp = Mlp(dim, int(dim * mlp_ratio), act, drop)

    def forward(self, x: torch.Tensor, hw: Optional[Tuple[int, int]] = None) -> torch.Tensor:
        """``x (B, N, C)`` -> ``(B, N, C)``; ``hw`` (the token grid) is needed only by the Gaussian prior."""
        a = self.attn(self.norm1(x), hw)
        x = x + self.drop_path(a) if self.residual else a
        if not self.reduce_mlp:
            x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x


def _resize_pos(pos: torch.Tensor, src: Tuple[int, int], dst: Tuple[int, int], mode: str = 'bicubic') -> torch.Tensor:
    """``(1, src_h*src_w, C)`` position grid -> ``(1, dst_h*dst_w, C)``."""
    if tuple(src) == tuple(dst):
        return pos
    c = pos.shape[-1]
    grid = pos.reshape(1, src[0], src[1], c).permute(0, 3, 1, 2)
    grid = F.interpolate(grid.float(), size=dst, mode=mode, align_corners=False).to(pos.dtype)
    return grid.permute(0, 2, 3, 1).reshape(1, dst[0] * dst[1], c)


def _layer_set(spec: Union[str, Sequence[int]], n: int) -> set:
    return set(range(n)) if spec == 'all' else {int(i) % n for i in spec}


@MODELS.register_module()
class NKKViT(BaseModule):
    """Neighbourhood Key-Key ViT backbone (LoVLANet visual encoder).

    Args:
        img_size: input size the position grid is stored for (``img_size // patch_size`` per side); the grid is
            bicubically resized to every input's token grid on the fly.
        patch_size: patch size P (32 for ViT-B/32); inputs must be divisible by P (``size_divisor=32``).
        embed_dims, num_layers, num_heads, mlp_ratio, qkv_bias: ViT shape (ViT-B: 768, 12, 12, 4, True).
        drop_rate, attn_drop_rate, drop_path_rate: dropout / stochastic depth (inferred: 0, 0, 0.1).
        norm_eps: LayerNorm eps (timm 1e-6, open_clip 1e-5).
        act: ``'gelu'`` or ``'quick_gelu'`` (OpenAI/RemoteCLIP image towers trained with QuickGELU).
        patch_bias: bias of the patch embedding (timm: yes; CLIP: no).
        pre_norm: LayerNorm after the position embedding (CLIP ``ln_pre``).
        out_indices: blocks whose outputs are returned (after blocks 3/6/9/12).
        final_norm: apply the final LayerNorm to the output of the last block (only that tap).
        key_key, kk_layers: KK attention in ``'all'`` blocks or a list of block indices (others keep Q-K).
        gaussian_prior, gauss_layers, sigma: Gaussian neighbourhood prior, its blocks and width in tokens.
        reduce_last_mlp: delete the final block's FFN and LN2 (ReduceMLP).
        last_block_residual: keep the final block's attention residual (only used with ``reduce_last_mlp``).
        use_sdpa: fused attention kernel.
        pretrained: local weights file (timm ViT or open_clip/RemoteCLIP visual), loaded by :meth:`init_weights`.
        weight_format: ``'timm'`` or ``'open_clip'`` (keys ``conv1``, ``transformer.resblocks``; ``visual.``
            prefix stripped, so a full RemoteCLIP file works).

    Shapes: ``(B, 3, H, W)`` -> list of ``(B, embed_dims, H/P, W/P)``, one per ``out_indices``.
    """

    def __init__(self,
                 img_size: Union[int, Tuple[int, int]] = 224,
                 patch_size: int = 32,
                 in_channels: int = 3,
                 embed_dims: int = 768,
                 num_layers: int = 12,
                 num_heads: int = 12,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.1,
                 norm_eps: float = 1e-6,
                 act: str = 'gelu',
                 patch_bias: bool = True,
                 pre_norm: bool = False,
                 out_indices: Sequence[int] = (2, 5, 8, 11),
                 final_norm: bool = True,
                 key_key: bool = True,
                 kk_layers: Union[str, Sequence[int]] = 'all',
                 gaussian_prior: bool = True,
                 gauss_layers: Union[str, Sequence[int]] = 'all',
                 sigma: float = 2.0,
                 reduce_last_mlp: bool = True,
                 last_block_residual: bool = False,
                 interpolate_mode: str = 'bicubic',
                 use_sdpa: bool = True,
                 pretrained: Optional[str] = None,
                 weight_format: str = 'timm',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if weight_format not in ('timm', 'open_clip'):
            raise ValueError(f"weight_format must be 'timm' or 'open_clip', got {weight_format!r}")
        img_size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        self.patch_size = patch_size
        self.embed_dims = embed_dims
        self.num_layers = num_layers
        self.pos_grid = (img_size[0] // patch_size, img_size[1] // patch_size)
        self.out_indices = tuple(i % num_layers for i in out_indices)
        self.final_norm = final_norm
        self.interpolate_mode = interpolate_mode
        self.pretrained = pretrained
        self.weight_format = weight_format
        self.key_key, self.gaussian_prior, self.sigma = key_key, gaussian_prior, sigma
        self.reduce_last_mlp = reduce_last_mlp

        self.patch_embed = nn.Conv2d(in_channels, embed_dims, patch_size, patch_size, bias=patch_bias)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.pos_grid[0] * self.pos_grid[1], embed_dims))
        self.pos_drop = nn.Dropout(drop_rate)
        self.pre_norm = nn.LayerNorm(embed_dims, eps=norm_eps) if pre_norm else nn.Identity()
        kk = _layer_set(kk_layers, num_layers) if key_key else set()
        gauss = _layer_set(gauss_layers, num_layers) if gaussian_prior else set()
        dpr = torch.linspace(0, drop_path_rate, num_layers).tolist()
        self.blocks = nn.ModuleList()
        for i in range(num_layers):
            last = i == num_layers - 1
            self.blocks.append(
                NKKBlock(embed_dims, num_heads, mlp_ratio, key_key=i in kk, gaussian_prior=i in gauss, sigma=sigma,
                         qkv_bias=qkv_bias, drop=drop_rate, attn_drop=attn_drop_rate, drop_path=dpr[i],
                         norm_eps=norm_eps, act=act, reduce_mlp=last and reduce_last_mlp,
                         residual=not (last and reduce_last_mlp) or last_block_residual, use_sdpa=use_sdpa))
        if final_norm:
            self.norm = nn.LayerNorm(embed_dims, eps=norm_eps)

    # ------------------------------------------------------------------ weights
    def init_weights(self) -> None:
        if self.pretrained is None:
            nn.init.trunc_normal_(self.pos_embed, std=.02)
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.trunc_normal_(m.weight, std=.02)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
            super().init_weights()
            return
        sd = load_local_state_dict(self.pretrained, what=f'NKKViT visual weights ({self.weight_format})',
                                   source=VISUAL_WEIGHT_SOURCES[self.weight_format],
                                   config_key='model.backbone.pretrained')
        self.load_pretrained_state_dict(sd, self.weight_format, strict=True)

    def load_pretrained_state_dict(self, sd: Dict[str, torch.Tensor], weight_format: str = 'timm',
                                   strict: bool = True):
        """Convert a timm / open_clip visual state dict to this layout and load it (returns the LoadReport)."""
        convert = convert_timm_vit if weight_format == 'timm' else convert_open_clip_visual
        converted = convert(sd, self)
        report = load_weights(self, converted, strict=strict, what=f'{weight_format} visual weights')
        print_log(f'NKKViT: {report.summary()}', logger='current')
        return report

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        b, _, hh, ww = x.shape
        if hh % self.patch_size or ww % self.patch_size:
            raise ValueError(f'NKKViT input {hh}x{ww} is not divisible by the patch size {self.patch_size}; '
                             f'pad it (data_preprocessor size_divisor={self.patch_size}).')
        x = self.patch_embed(x)  # (B, C, h, w)
        h, w = x.shape[-2:]
        x = x.flatten(2).transpose(1, 2)  # (B, N, C), row-major like G
        x = x + _resize_pos(self.pos_embed, self.pos_grid, (h, w), self.interpolate_mode)
        x = self.pre_norm(self.pos_drop(x))
        outs = []
        for i, blk in enumerate(self.blocks):
            x = blk(x, (h, w))
            if i in self.out_indices:
                y = self.norm(x) if (self.final_norm and i == self.num_layers - 1) else x
                outs.append(y.transpose(1, 2).reshape(b, self.embed_dims, h, w))
        return outs


# ---------------------------------------------------------------------- converters
def _split_in_proj(w: torch.Tensor, attn: NKKAttention, prefix: str, out: Dict[str, torch.Tensor],
                   suffix: str) -> None:
    """A (3C, ...) q/k/v stack -> ``kv`` (rows C:3C; query rows discarded) or ``qkv``."""
    if attn.key_key:
        out[f'{prefix}.kv.{suffix}'] = w[w.shape[0] // 3:]
    else:
        out[f'{prefix}.qkv.{suffix}'] = w


def _pos_tokens(pos: torch.Tensor, model: NKKViT) -> torch.Tensor:
    """Drop the CLS position (if the grid is n*n+1) and resize the grid to ``model.pos_grid``."""
    pos = pos.reshape(1, -1, pos.shape[-1])
    n = pos.shape[1]
    side = int(math.isqrt(n))
    if side * side != n:  # CLS position first
        pos = pos[:, 1:]
        side = int(math.isqrt(n - 1))
    return _resize_pos(pos, (side, side), model.pos_grid, model.interpolate_mode)


def convert_timm_vit(sd: Dict[str, torch.Tensor], model: NKKViT) -> Dict[str, torch.Tensor]:
    """timm ``VisionTransformer`` keys -> NKKViT keys (drop cls/head, qkv -> kv, reduced last block)."""
    out: Dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        if k.startswith(('cls_token', 'head', 'fc_norm', 'reg_token')):
            continue
        if k.startswith('patch_embed.proj.'):
            out['patch_embed.' + k[len('patch_embed.proj.'):]] = v
        elif k == 'pos_embed':
            out['pos_embed'] = _pos_tokens(v, model)
        elif k.startswith('norm_pre.'):
            out['pre_norm.' + k[len('norm_pre.'):]] = v
        elif k.startswith('blocks.'):
            i = int(k.split('.')[1])
            blk = model.blocks[i]
            if '.attn.qkv.' in k:
                _split_in_proj(v, blk.attn, f'blocks.{i}.attn', out, k.rsplit('.', 1)[1])
            elif blk.reduce_mlp and ('.mlp.' in k or '.norm2.' in k):
                continue  # ReduceMLP: the last FFN is deleted
            else:
                out[k] = v
        else:
            out[k] = v  # norm.*
    return out


def convert_open_clip_visual(sd: Dict[str, torch.Tensor], model: NKKViT) -> Dict[str, torch.Tensor]:
    """open_clip ``VisionTransformer`` keys (optionally under ``visual.``) -> NKKViT keys."""
    if any(k.startswith('visual.') for k in sd):
        sd = {k[len('visual.'):]: v for k, v in sd.items() if k.startswith('visual.')}
    rename = {'ln_1.': 'norm1.', 'ln_2.': 'norm2.', 'attn.out_proj.': 'attn.proj.', 'mlp.c_fc.': 'mlp.fc1.',
              'mlp.c_proj.': 'mlp.fc2.'}
    out: Dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        if k in ('class_embedding', 'proj') or k.startswith(('attn_pool', 'ln_post_pool')):
            continue  # CLS token and the image-level projection are removed
        if k == 'conv1.weight':
            out['patch_embed.weight'] = v
        elif k == 'positional_embedding':
            out['pos_embed'] = _pos_tokens(v, model)
        elif k.startswith('ln_pre.'):
            out['pre_norm.' + k[len('ln_pre.'):]] = v
        elif k.startswith('ln_post.'):
            out['norm.' + k[len('ln_post.'):]] = v
        elif k.startswith('transformer.resblocks.'):
            rest = k[len('transformer.resblocks.'):]
            i, name = rest.split('.', 1)
            blk = model.blocks[int(i)]
            if name in ('attn.in_proj_weight', 'attn.in_proj_bias'):
                _split_in_proj(v, blk.attn, f'blocks.{i}.attn', out, 'weight' if name.endswith('weight') else 'bias')
                continue
            if blk.reduce_mlp and name.startswith(('mlp.', 'ln_2.')):
                continue
            for old, new in rename.items():
                if name.startswith(old):
                    name = new + name[len(old):]
                    break
            out[f'blocks.{i}.{name}'] = v
        else:
            out[k] = v  # reported as unexpected
    return out

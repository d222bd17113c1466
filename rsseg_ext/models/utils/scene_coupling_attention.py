"""Scene-Coupling Attention (SCA) of SCSM (Eqs. 8, 26, 29): block self-attention whose query carries the DCT
scene representation and whose query/key carry ROPE+ (scene object distribution)."""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor

from mmseg.registry import MODELS
from .dct import DCTChannelAttention
from .pos_encoding import PEG, SinCos2DPE
from .rope2d import ROPE2D

POS_ENCODINGS = ('rope+', 'rope_identical', 'none', 'sincos', 'cpe')


def _proj(in_ch: int, out_ch: int, num_convs: int, norm_cfg: Optional[dict], act_cfg: Optional[dict]) -> nn.Module:
    """``num_convs`` x [Conv1x1 + BN + ReLU], ``in_ch -> out_ch -> ... -> out_ch`` (mmseg SelfAttentionBlock style)."""
    layers = [ConvModule(in_ch if i == 0 else out_ch, out_ch, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
              for i in range(num_convs)]
    return nn.Sequential(*layers)


@MODELS.register_module()
class SceneCouplingAttention(nn.Module):
    """Scene-Coupling Attention on blocks, ``(N, C, P, P) x 3 -> (N, C, P, P)``.

    Per block (``N = B * n_b`` blocks, ``L = P*P`` tokens):

    1. ``x_q <- DCTChannelAttention(x_q)`` (Eqs. 19-25; ``dct_position='pre_proj'``), or on the projected ``q``
       before rotation (``'post_proj'``). Never after ROPE+: channel scaling would break Eq. 17.
    2. ``q = phi_q(x_q)``, ``k = phi_k(x_k)``, ``v = phi_v(x_v)``: 1x1 Conv+BN+ReLU stacks to ``d`` channels (Eq. 1).
    3. ROPE+ on ``q`` and ``k`` (Eqs. 11-17) per head, block-local integer coordinates (only offsets matter).
    4. ``z = softmax(q k^T / sqrt(d_head)) v`` through ``F.scaled_dot_product_attention`` (Eqs. 3-5, 26; no
       ``L x L`` matrix is materialised where a fused kernel exists), then ``phi_o``: ``d -> C``.

    With ``use_dct=False``, ``pos_encoding='none'`` and ``x_q = x_k = x_v`` this is vanilla (non-local)
    self-attention (Eqs. 1-5).

    Args:
        channels: ``C`` of the inputs and output.
        transform_channels: ``d``, the attention width.
        num_heads: attention heads (the paper: 1); ROPE+ uses the per-head width.
        block_size: ``P``, the DCT grid side.
        use_dct: DCT channel attention on / off.
        num_freqs: ``M`` FcaNet frequencies.
        dct_reduction: FC reduction ``r`` of the channel attention.
        dct_position: ``'pre_proj'`` (default, on ``x_q``) or ``'post_proj'`` (on ``q``).
        pos_encoding: ``'rope+'`` (different x / y angles), ``'rope_identical'`` (``theta_y = theta_x``), ``'none'``,
            ``'sincos'`` (additive 2-D sin-cos on ``x_q``, ``x_k``) or ``'cpe'`` (CPVT PEG on ``x_q``, ``x_k``).
        rope_base: ROPE+ frequency base.
        query_num_convs / key_num_convs / value_num_convs: depth of the projections.
        norm_cfg / act_cfg: for the projections.
    """

    def __init__(self,
                 channels: int = 128,
                 transform_channels: int = 64,
                 num_heads: int = 1,
                 block_size: int = 21,
                 use_dct: bool = True,
                 num_freqs: int = 16,
                 dct_reduction: int = 16,
                 dct_position: str = 'pre_proj',
                 pos_encoding: str = 'rope+',
                 rope_base: float = 10000.0,
                 query_num_convs: int = 2,
                 key_num_convs: int = 2,
                 value_num_convs: int = 1,
                 norm_cfg: Optional[dict] = dict(type='BN', requires_grad=True),
                 act_cfg: Optional[dict] = dict(type='ReLU')) -> None:
        super().__init__()
        if pos_encoding not in POS_ENCODINGS:
            raise ValueError(f'pos_encoding must be one of {POS_ENCODINGS}, got {pos_encoding!r}')
        if dct_position not in ('pre_proj', 'post_proj'):
            raise ValueError(f"dct_position must be 'pre_proj' or 'post_proj', got {dct_position!r}")
        if transform_channels % num_heads:
            raise ValueError(f'transform_channels ({transform_channels}) must be divisible by num_heads ({num_heads})')
        self.channels, self.transform_channels, self.num_heads = channels, transform_channels, num_heads
        self.head_dim = transform_channels // num_heads
        self.use_dct, self.dct_position, self.pos_encoding = use_dct, dct_position, pos_encoding
        self.dct = None
        if use_dct:
            dct_ch = channels if dct_position == 'pre_proj' else transform_channels
            self.dct = DCTChannelAttention(dct_ch, block_size, num_freqs, dct_reduction)
        self.rope = None
        self.pe_q = self.pe_k = None
        if pos_encoding.startswith('rope'):
            mode = 'identical' if pos_encoding == 'rope_identical' else 'mixed'
            self.rope = ROPE2D(self.head_dim, rope_base, mode)
        elif pos_encoding == 'sincos':
            self.pe_q = self.pe_k = SinCos2DPE(channels)
        elif pos_encoding == 'cpe':
            self.pe_q, self.pe_k = PEG(channels), PEG(channels)
        self.query_project = _proj(channels, transform_channels, query_num_convs, norm_cfg, act_cfg)
        self.key_project = _proj(channels, transform_channels, key_num_convs, norm_cfg, act_cfg)
        self.value_project = _proj(channels, transform_channels, value_num_convs, norm_cfg, act_cfg)
        self.out_project = ConvModule(transform_channels, channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def _tokens(self, x: Tensor) -> Tensor:
        """``(N, d, h, w) -> (N, heads, h*w, d_head)``."""
        n, _, h, w = x.shape
        return x.reshape(n, self.num_heads, self.head_dim, h * w).transpose(-1, -2)

    def forward(self, x_q: Tensor, x_k: Tensor, x_v: Tensor) -> Tensor:
        """Eq. 29 inputs ``x_q = F_l``, ``x_k = M_l``, ``x_v = M_g,l``, each ``(N, C, h, w)`` -> ``(N, C, h, w)``."""
        n, _, h, w = x_q.shape
        if self.dct is not None and self.dct_position == 'pre_proj':
            x_q = self.dct(x_q)
        if self.pe_q is not None:
            x_q, x_k = self.pe_q(x_q), self.pe_k(x_k)
        q = self.query_project(x_q)
        if self.dct is not None and self.dct_position == 'post_proj':
            q = self.dct(q)
        q, k, v = self._tokens(q), self._tokens(self.key_project(x_k)), self._tokens(self.value_project(x_v))
        if self.rope is not None:
            q, k = self.rope(q, (h, w)), self.rope(k, (h, w))
        z = F.scaled_dot_product_attention(q, k, v)  # (N, heads, L, d_head); scale 1/sqrt(d_head)
        z = z.transpose(-1, -2).reshape(n, self.transform_channels, h, w)
        return self.out_project(z)

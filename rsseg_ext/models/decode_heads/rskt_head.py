"""RSKT-Seg decode head: RS-Transfer upsampling (paper Eq. 8) of the aggregated cost volume."""
from typing import Dict, List, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS

__all__ = ['RSKTHead', 'RSTransferUp']


class RSTransferUp(nn.Module):
    """One RS-Transfer stage: ``ConvT2x2(in -> in - g)`` -> concat the guidance maps -> DoubleConv -> ``out``.

    DoubleConv = (Conv3x3 no bias -> GroupNorm(out // 16) -> ReLU) x 2. ``forward(x (N, in, h, w),
    guidance [(N, g, 2h, 2w)] * n) -> (N, out, 2h, 2w)``; with no guidance source the ConvT keeps ``in`` channels.
    """

    def __init__(self, in_channels: int, out_channels: int, guidance_dim: int, num_sources: int) -> None:
        super().__init__()
        up = in_channels - guidance_dim if num_sources else in_channels
        self.up = nn.ConvTranspose2d(in_channels, up, 2, 2)
        mid = up + guidance_dim * num_sources
        groups = max(out_channels // 16, 1)
        self.conv = nn.Sequential(
            nn.Conv2d(mid, out_channels, 3, padding=1, bias=False), nn.GroupNorm(groups, out_channels),
            nn.ReLU(inplace=True), nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.GroupNorm(groups, out_channels), nn.ReLU(inplace=True))

    def forward(self, x: Tensor, guidance: Sequence[Tensor] = ()) -> Tensor:
        return self.conv(torch.cat([self.up(x), *guidance], dim=1))


def _pre_proj(in_ch: int, out_ch: int, scale: int) -> nn.Module:
    """Learnable guidance pre-projection: ``scale``x upsampling ConvT (scale k, stride k) or a 1x1 conv."""
    return nn.Conv2d(in_ch, out_ch, 1) if scale == 1 else nn.ConvTranspose2d(in_ch, out_ch, scale, scale)


@MODELS.register_module()
class RSKTHead(BaseDecodeHead):
    """RS-Transfer: two upsampling stages (1/16 -> 1/8 -> 1/4 of the CLIP frame) with CLIP, RemoteCLIP and DINO
    guidance, then a 3x3 conv to one logit per class.

    Guidance (authors' code): CLIP hooks ``(B, Wc, g, g)`` -> ConvT 2x2 -> 256 / ConvT 4x4 -> 128; RemoteCLIP
    hooks ``(B, Wr, g, g)`` the same; DINO hooks ``(B, Dd, 2g, 2g)`` -> Conv1x1 -> 256 / ConvT 2x2 -> 128; then
    Conv3x3 + ReLU to 32 / 16 channels. The shallower hook feeds the 1/8 stage.

    Args:
        clip_width, remote_clip_width, dino_dim: widths of the hook features (Wc, Wr, Dd).
        hidden_dim: C of the cost volume (128).
        decoder_dims: output channels of the two stages (64, 32).
        decoder_guidance_dims: pre-projection widths (256, 128).
        decoder_guidance_proj_dims: guidance widths concatenated in the stages (32, 16).
        use_clip_guidance, use_remote_clip_guidance, use_dino_guidance: the "RST" ablation switches.
        num_classes: training vocabulary size (informational: T is free at test time).
        loss_decode: ``OpenVocabBCELoss`` (the original) or mmseg's ``CrossEntropyLoss`` (the paper's Eq. 9).
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels``/``channels`` default to ``hidden_dim``).

    ``forward(inputs)`` takes the neck's dict (``cost (B, C, T, g, g)``, ``clip_inter``, ``rclip_inter``, ``dino``)
    and returns logits ``(B, T, 4g, 4g)``; ``predict_by_feat`` applies the sigmoid before resizing.
    """

    def __init__(self,
                 clip_width: int = 768,
                 remote_clip_width: int = 768,
                 dino_dim: int = 768,
                 hidden_dim: int = 128,
                 decoder_dims: Sequence[int] = (64, 32),
                 decoder_guidance_dims: Sequence[int] = (256, 128),
                 decoder_guidance_proj_dims: Sequence[int] = (32, 16),
                 use_clip_guidance: bool = True,
                 use_remote_clip_guidance: bool = True,
                 use_dino_guidance: bool = True,
                 num_classes: int = 2,
                 loss_decode: dict = dict(type='OpenVocabBCELoss', loss_weight=1.0, ignore_index=255,
                                          ignore_mode='negative'),
                 **kwargs) -> None:
        kwargs.setdefault('in_channels', hidden_dim)
        kwargs.setdefault('channels', hidden_dim)
        kwargs['init_cfg'] = None  # the default init_cfg refers to conv_seg, which this head does not have
        super().__init__(num_classes=num_classes, loss_decode=loss_decode, **kwargs)
        del self.conv_seg
        if len(decoder_dims) != 2 or len(decoder_guidance_dims) != 2 or len(decoder_guidance_proj_dims) != 2:
            raise ValueError('RS-Transfer has two stages: decoder_dims, decoder_guidance_dims and '
                             'decoder_guidance_proj_dims need two entries each')
        gd, gp = tuple(decoder_guidance_dims), tuple(decoder_guidance_proj_dims)
        sources = dict(clip=(use_clip_guidance, clip_width, (2, 4)),
                       rclip=(use_remote_clip_guidance, remote_clip_width, (2, 4)),
                       dino=(use_dino_guidance, dino_dim, (1, 2)))
        self.sources = tuple(k for k, (on, _, _) in sources.items() if on)
        self.pre_proj = nn.ModuleDict()
        self.guidance_proj = nn.ModuleDict()
        for name in self.sources:
            _, width, scales = sources[name]
            self.pre_proj[name] = nn.ModuleList(_pre_proj(width, gd[i], scales[i]) for i in range(2))
            self.guidance_proj[name] = nn.ModuleList(
                nn.Sequential(nn.Conv2d(gd[i], gp[i], 3, padding=1), nn.ReLU(inplace=True)) for i in range(2))
        ins = (hidden_dim, decoder_dims[0])
        self.ups = nn.ModuleList(
            RSTransferUp(ins[i], decoder_dims[i], gp[i], len(self.sources)) for i in range(2))
        self.head = nn.Conv2d(decoder_dims[1], 1, 3, padding=1)

    #: where each guidance source sits in the feature dict
    _FEATURE_KEYS = dict(clip='clip_inter', rclip='rclip_inter', dino='dino')

    def guidance(self, inputs: Dict) -> List[List[Tensor]]:
        """Per stage, the projected guidance maps ``(B, gp_i, 2^(i+1) g, 2^(i+1) g)`` of every enabled source."""
        out: List[List[Tensor]] = [[], []]
        for name in self.sources:
            feats = inputs.get(self._FEATURE_KEYS[name])
            if feats is None or len(feats) < 2:
                raise KeyError(f'RSKTHead needs two {self._FEATURE_KEYS[name]!r} maps for {name} guidance '
                               f'(got {None if feats is None else len(feats)}); disable use_*_guidance otherwise')
            for i in range(2):
                out[i].append(self.guidance_proj[name][i](self.pre_proj[name][i](feats[i])))
        return out

    def forward(self, inputs: Dict) -> Tensor:
        cost = inputs['cost']
        b, c, t, h, w = cost.shape
        x = cost.transpose(1, 2).reshape(b * t, c, h, w)  # one map per (image, class)
        for up, guid in zip(self.ups, self.guidance(inputs)):
            x = up(x, [g.repeat_interleave(t, dim=0) for g in guid])
        return self.head(x).reshape(b, t, x.shape[-2], x.shape[-1])

    def predict_by_feat(self, seg_logits: Tensor, batch_img_metas: List[dict]) -> Tensor:
        # sigmoid first, then upsample the probabilities (as the original code; docs/methods/rskt_seg.md)
        return super().predict_by_feat(seg_logits.sigmoid(), batch_img_metas)

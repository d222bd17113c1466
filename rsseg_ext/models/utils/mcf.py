"""MCF: FCtL's multi-context fusion of the per-branch correlation outputs (paper Eq. 3-4; layer layout of the
authors' code)."""
from typing import List, Tuple

import torch
import torch.nn as nn
from mmengine.model.weight_init import normal_init

from mmseg.registry import MODELS


@MODELS.register_module()
class MultiContextFusion(nn.Module):
    """Pixel- and channel-wise softmax weights over ``T`` branches: ``Xbar_I = sum_U H_U * Xbar_{I|U}``.

    ``'adaptive'`` (default): ``a_U = conv_in_U(x_U)``; ``t = trans(concat a_U)`` (one (T c)->(T c) 1x1 conv with
    ``squeeze_ratio=1`` as the code, or squeeze (T c)->(T c / r) then reconstruct (T c / r)->(T c) as the paper's
    text); ``s_U = conv_out_U(t_U)``, optionally squashed by a sigmoid (code), and ``H = softmax_U(s)``. With the
    sigmoid and T = 3 every weight lies in ``[1/(1+2e), e/(e+2)] ~ [0.155, 0.576]``.
    ``'average'``: ``H_U = 1/T``. ``'weighted'``: ``T`` learnable scalars, softmax-normalised, input-independent
    (the paper's "offline estimated constant weights").

    Args:
        channels: ``c`` of every branch.
        num_branches: ``T``.
        mode: ``'adaptive'``, ``'average'`` or ``'weighted'``.
        squeeze_ratio: ``r`` of the adaptive transition (1: single conv).
        sigmoid_before_softmax: the code's sigmoid on ``s_U`` (``False``: paper-literal).

    Shapes: ``T`` tensors ``(B, c, h, w)`` -> ``(fused (B, c, h, w), weights (B, T, c, h, w))``.
    """

    def __init__(self, channels: int, num_branches: int = 3, mode: str = 'adaptive', squeeze_ratio: int = 1,
                 sigmoid_before_softmax: bool = True) -> None:
        super().__init__()
        if mode not in ('adaptive', 'average', 'weighted'):
            raise ValueError(f"mode must be 'adaptive', 'average' or 'weighted', got {mode!r}")
        self.mode, self.num_branches, self.channels = mode, num_branches, channels
        self.sigmoid_before_softmax = sigmoid_before_softmax
        if mode == 'adaptive':
            tc = channels * num_branches
            self.conv_in = nn.ModuleList(nn.Conv2d(channels, channels, 1) for _ in range(num_branches))
            if squeeze_ratio == 1:
                self.trans = nn.Conv2d(tc, tc, 1)
            else:
                self.trans = nn.Sequential(nn.Conv2d(tc, tc // squeeze_ratio, 1), nn.Conv2d(tc // squeeze_ratio, tc, 1))
            self.conv_out = nn.ModuleList(nn.Conv2d(channels, channels, 1) for _ in range(num_branches))
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    normal_init(m, mean=0, std=0.01, bias=0)
        elif mode == 'weighted':
            self.branch_logits = nn.Parameter(torch.zeros(num_branches))

    def fusion_weights(self, feats: List[torch.Tensor]) -> torch.Tensor:
        """``H`` (B, T, c, h, w); sums to 1 over T at every element."""
        if len(feats) != self.num_branches:
            raise ValueError(f'expected {self.num_branches} branches, got {len(feats)}')
        x0 = feats[0]
        b, c, h, w = x0.shape
        t = self.num_branches
        if self.mode == 'average':
            return x0.new_full((b, t, c, h, w), 1.0 / t)
        if self.mode == 'weighted':
            return self.branch_logits.softmax(0).view(1, t, 1, 1, 1).expand(b, t, c, h, w)
        a = torch.cat([conv(x) for conv, x in zip(self.conv_in, feats)], dim=1)
        parts = self.trans(a).split(c, dim=1)
        s = torch.stack([conv(p) for conv, p in zip(self.conv_out, parts)], dim=1)
        if self.sigmoid_before_softmax:
            s = s.sigmoid()
        return s.softmax(dim=1)

    def forward(self, feats: List[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
        weights = self.fusion_weights(feats)
        if self.mode == 'average':  # exactly the mean (no rounding of 1/T)
            return torch.stack(feats, dim=1).mean(dim=1), weights
        return (weights * torch.stack(feats, dim=1)).sum(dim=1), weights

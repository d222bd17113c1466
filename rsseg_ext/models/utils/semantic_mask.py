"""Semantic Mask Generation (SMG) of SCSM (Eqs. 27-28): class centres placed back at pixel positions."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS


@MODELS.register_module()
class SemanticMaskGenerator(torch.nn.Module):
    """Soft class centres of a region and their "recovery" ψ at every pixel (SCSM Eqs. 27-28).

    For a region with features ``F (N, C, L)`` and pre-classification logits ``D (N, K, L)``:

    * ``W = softmax_pixels(D)`` (``'softmax'``, OCR / SACANet style) or the hard masked mean of ``argmax D``
      (``'hard_mean'``); ``Z = W F^T`` gives ``(N, K, C)`` class centres;
    * ``M[:, i] = Z[argmax_k D[:, i]]``: each pixel receives the centre of its predicted class (the "spatial
      prior"). The argmax passes no gradient; with ``'softmax'`` the logits still get gradient through ``W``.

    Applied on the whole map it is the global mask ``M_g`` (Eq. 27), on each block the local mask ``M_l`` (Eq. 28).

    Args:
        center_norm: ``'softmax'`` (default) or ``'hard_mean'``.
    """

    def __init__(self, center_norm: str = 'softmax') -> None:
        super().__init__()
        if center_norm not in ('softmax', 'hard_mean'):
            raise ValueError(f"center_norm must be 'softmax' or 'hard_mean', got {center_norm!r}")
        self.center_norm = center_norm

    def centers(self, feats: Tensor, logits: Tensor) -> Tuple[Tensor, Tensor]:
        """``feats (N, C, H, W)``, ``logits (N, K, H, W)`` -> centres ``(N, K, C)`` and labels ``(N, H*W)``."""
        d = logits.flatten(2)  # (N, K, L)
        f = feats.flatten(2)  # (N, C, L)
        labels = d.argmax(dim=1)  # (N, L)
        if self.center_norm == 'softmax':
            weights = d.softmax(dim=-1)
        else:
            onehot = F.one_hot(labels, d.shape[1]).transpose(1, 2).to(f.dtype)  # (N, K, L)
            weights = onehot / onehot.sum(-1, keepdim=True).clamp(min=1)
        return torch.bmm(weights, f.transpose(1, 2)), labels

    def forward(self, feats: Tensor, logits: Tensor) -> Tensor:
        """Semantic mask ``(N, C, H, W)`` (ψ of Eq. 27)."""
        n, c, h, w = feats.shape
        z, labels = self.centers(feats, logits)
        mask = torch.gather(z, 1, labels[..., None].expand(-1, -1, c))  # (N, L, C)
        return mask.transpose(1, 2).reshape(n, c, h, w)

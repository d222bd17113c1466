"""Cross-entropy with label smoothing (D2LS spec §3.2; GeoSeg's ``SoftCrossEntropyLoss``).

mmseg's ``CrossEntropyLoss`` has no label smoothing, hence this class.
"""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.registry import MODELS


@MODELS.register_module()
class SoftCrossEntropyLoss(nn.Module):
    """Label-smoothed cross-entropy over N classes.

    Per pixel with label y and p = softmax(z)::

        l = (1 - eps) * (-log p_y) + (eps / N) * sum_c (-log p_c),   l = 0 where y == ignore_index

    Reduction ``'mean'`` divides by ALL pixels (ignored ones included, as GeoSeg and mmseg's
    ``avg_non_ignore=False``) or by the non-ignored pixels with ``avg_non_ignore=True``.

    Args:
        smooth_factor: eps (D2LS: 0.05).
        ignore_index: label to ignore (default 255; mmseg passes the head's value at call time).
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` (per-pixel map).
        avg_non_ignore: see above.
        loss_weight: multiplier.
        loss_name: key in the loss dict (must start with ``loss_``).

    Shapes: pred (B, N, H, W) logits, target (B, H, W) int -> scalar (or (B, H, W) for ``'none'``).
    """

    def __init__(self,
                 smooth_factor: float = 0.05,
                 ignore_index: int = 255,
                 reduction: str = 'mean',
                 avg_non_ignore: bool = False,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_ce') -> None:
        super().__init__()
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError(f'reduction must be mean/sum/none, got {reduction!r}')
        self.smooth_factor = float(smooth_factor)
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.avg_non_ignore = avg_non_ignore
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                ignore_index: Optional[int] = None,
                **kwargs) -> Tensor:
        ignore_index = self.ignore_index if ignore_index is None else ignore_index
        # torch's label_smoothing is exactly (1-eps)*NLL + eps*mean_c(-log p_c), zero at ignored pixels
        loss = F.cross_entropy(pred.float(), target.long(), ignore_index=ignore_index, reduction='none',
                               label_smoothing=self.smooth_factor)
        if weight is not None:
            loss = loss * weight
        if self.reduction == 'none':
            return self.loss_weight * loss
        if self.reduction == 'sum':
            return self.loss_weight * loss.sum()
        denom = (target != ignore_index).sum().clamp_min(1) if self.avg_non_ignore else loss.numel()
        return self.loss_weight * loss.sum() / denom

    @property
    def loss_name(self) -> str:
        return self._loss_name

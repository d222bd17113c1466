"""Cross-entropy with label smoothing (D2LS paper Eqs. 2-4; GeoSeg's ``SoftCrossEntropyLoss``).

mmseg's ``CrossEntropyLoss`` has no label smoothing, hence this class.
"""
from typing import List, Optional, Union

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.models.losses.utils import get_class_weight
from mmseg.registry import MODELS

from .mmseg_args import reject_unsupported, require_softmax


@MODELS.register_module()
class SoftCrossEntropyLoss(nn.Module):
    """Label-smoothed cross-entropy over N classes.

    Per pixel with label y and p = softmax(z)::

        l = (1 - eps) * (-log p_y) + (eps / N) * sum_c (-log p_c),   l = 0 where y == ignore_index

    Reduction ``'mean'`` divides by ALL pixels (ignored ones included, as GeoSeg and mmseg's
    ``avg_non_ignore=False``) or by the non-ignored pixels with ``avg_non_ignore=True``. With ``class_weight`` the
    per-pixel loss is ``F.cross_entropy(weight=class_weight, label_smoothing=eps)``'s and ``'mean'`` divides by the
    sum of the non-ignored pixels' class weights (torch's weighted mean) whatever ``avg_non_ignore`` says (see
    ``mmseg_args``).

    Args:
        smooth_factor: eps (D2LS: 0.05).
        ignore_index: label to ignore (default 255; mmseg passes the head's value at call time).
        reduction: ``'mean'``, ``'sum'`` or ``'none'`` (per-pixel map).
        avg_non_ignore: see above.
        loss_weight: multiplier.
        loss_name: key in the loss dict (must start with ``loss_``).
        class_weight: per-class weights (list, or a ``.npy``/json/yaml path as in mmseg's CrossEntropyLoss).
        use_sigmoid, use_mask: mmseg's CrossEntropyLoss switches, accepted as ``False`` only (a softmax loss), so
            a stock ``loss_decode`` turns into this loss by changing ``type``. Other arguments are refused by name.

    Shapes: pred (B, N, H, W) logits, target (B, H, W) int -> scalar (or (B, H, W) for ``'none'``).
    """

    def __init__(self,
                 smooth_factor: float = 0.05,
                 ignore_index: int = 255,
                 reduction: str = 'mean',
                 avg_non_ignore: bool = False,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_ce',
                 class_weight: Optional[Union[List[float], str]] = None,
                 use_sigmoid: bool = False,
                 use_mask: bool = False,
                 **kwargs) -> None:
        super().__init__()
        reject_unsupported(type(self), kwargs)
        require_softmax(type(self), use_sigmoid, use_mask)
        if reduction not in ('mean', 'sum', 'none'):
            raise ValueError(f'reduction must be mean/sum/none, got {reduction!r}')
        self.class_weight = get_class_weight(class_weight)
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
        class_weight = None
        if self.class_weight is not None:
            class_weight = pred.new_tensor(self.class_weight, dtype=pred.float().dtype)
            if class_weight.numel() != pred.size(1):
                raise ValueError(f'class_weight has {class_weight.numel()} entries but the logits have '
                                 f'{pred.size(1)} classes')
        # torch's label_smoothing is exactly (1-eps)*NLL + eps*mean_c(-log p_c), zero at ignored pixels
        loss = F.cross_entropy(pred.float(), target.long(), weight=class_weight, ignore_index=ignore_index,
                               reduction='none', label_smoothing=self.smooth_factor)
        if weight is not None:
            loss = loss * weight
        if self.reduction == 'none':
            return self.loss_weight * loss
        if self.reduction == 'sum':
            return self.loss_weight * loss.sum()
        valid = target != ignore_index
        if class_weight is not None:  # torch's weighted mean: the class weights of the non-ignored pixels
            denom = class_weight[target.long().where(valid, 0)].mul(valid).sum().clamp_min(1e-12)
        else:
            denom = valid.sum().clamp_min(1) if self.avg_non_ignore else loss.numel()
        return self.loss_weight * loss.sum() / denom

    @property
    def loss_name(self) -> str:
        return self._loss_name

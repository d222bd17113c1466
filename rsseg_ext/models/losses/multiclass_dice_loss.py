"""Multiclass soft Dice loss, batch-summed (D2LS paper Eqs. 2-4; smp/pytorch-toolbelt ``DiceLoss(mode='multiclass')``).

mmseg's ``DiceLoss`` is a different definition (per-image sums, no zeroing of classes absent from the ground
truth), hence this class.
"""
from typing import List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmseg.models.losses.utils import get_class_weight
from mmseg.registry import MODELS

from .mmseg_args import reject_unsupported, require_softmax


@MODELS.register_module()
class MultiClassDiceLoss(nn.Module):
    """``mean_c (1 - dice_c) * [class c present in the batch ground truth]``.

    With P = softmax(pred) and Y the one-hot target, both masked to valid (non-ignored) pixels, and the sums
    taken over the whole batch and all pixels::

        dice_c = (2 * sum P_c Y_c + s) / max(sum (P_c + Y_c) + s, eps)

    Classes absent from the batch ground truth contribute 0 but still count in the mean over N.

    Args:
        smooth: s (D2LS: 0.05).
        eps: lower bound of the denominator.
        ignore_index: label to ignore.
        loss_weight: multiplier.
        loss_name: key in the loss dict.
        class_weight: per-class weights w_c: the loss becomes ``mean_c w_c (1 - dice_c) [c present]``.
        use_sigmoid, use_mask: mmseg's switches, accepted as ``False`` only (softmax probabilities).
        reduction: ``'mean'`` only (one value for the batch).
        avg_non_ignore: ``True`` only: ignored pixels never enter the sums.

    Other arguments are refused by name, so a stock ``loss_decode`` turns into this loss by changing ``type``.

    Shapes: pred (B, N, H, W) logits, target (B, H, W) int -> scalar.
    """

    def __init__(self,
                 smooth: float = 0.05,
                 eps: float = 1e-7,
                 ignore_index: int = 255,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_dice',
                 class_weight: Optional[Union[List[float], str]] = None,
                 use_sigmoid: bool = False,
                 use_mask: bool = False,
                 reduction: str = 'mean',
                 avg_non_ignore: bool = True,
                 **kwargs) -> None:
        super().__init__()
        reject_unsupported(type(self), kwargs)
        require_softmax(type(self), use_sigmoid, use_mask)
        if reduction != 'mean':
            raise ValueError(f"{type(self).__name__} is a batch-level loss: reduction={reduction!r} is not supported "
                             "(only 'mean').")
        if not avg_non_ignore:
            raise ValueError(f'{type(self).__name__}: avg_non_ignore=False is not supported (ignored pixels never '
                             'enter the Dice sums); remove it or set True.')
        self.class_weight = get_class_weight(class_weight)
        self.smooth = smooth
        self.eps = eps
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                pred: Tensor,
                target: Tensor,
                weight: Optional[Tensor] = None,
                ignore_index: Optional[int] = None,
                **kwargs) -> Tensor:
        ignore_index = self.ignore_index if ignore_index is None else ignore_index
        b, n = pred.shape[:2]
        prob = pred.float().softmax(1).reshape(b, n, -1)
        target = target.reshape(b, -1).long()
        valid = (target != ignore_index)
        onehot = F.one_hot(torch.where(valid, target, torch.zeros_like(target)), n).permute(0, 2, 1).float()
        mask = valid.unsqueeze(1).float()
        prob, onehot = prob * mask, onehot * mask
        inter = (prob * onehot).sum((0, 2))
        card = (prob + onehot).sum((0, 2))
        dice = (2 * inter + self.smooth) / (card + self.smooth).clamp_min(self.eps)
        present = (onehot.sum((0, 2)) > 0).float()
        if self.class_weight is not None:
            cw = pred.new_tensor(self.class_weight, dtype=present.dtype)
            if cw.numel() != n:
                raise ValueError(f'class_weight has {cw.numel()} entries but the logits have {n} classes')
            present = present * cw
        return self.loss_weight * ((1 - dice) * present).mean()

    @property
    def loss_name(self) -> str:
        return self._loss_name

"""Per-class sigmoid binary cross-entropy for open-vocabulary segmentation (RSKT-Seg / CAT-Seg code)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS

from .mmseg_args import reject_unsupported

__all__ = ['OpenVocabBCELoss']


@MODELS.register_module()
class OpenVocabBCELoss(nn.Module):
    """BCE-with-logits of ``(B, T, H, W)`` logits against the one-hot of the ``(B, H, W)`` label.

    The one-hot target is built on the fly, so T (the vocabulary size) may change from call to call.

    Args:
        loss_weight: multiplier.
        ignore_index: label value that is not a class.
        ignore_mode: ``'negative'`` (default, the original): ignored pixels get an all-zero target, i.e. count
            as negatives for every class, and stay in the mean's denominator; ``'exclude'``: ignored pixels are
            left out of the loss and of the denominator.
        loss_name: key of the loss in the loss dict (must start with ``loss_``).
        use_sigmoid: mmseg's switch, accepted as ``True`` only (a sigmoid loss); ``reduction``: ``'mean'`` only.
            Other mmseg arguments are refused by name (``class_weight``: the vocabulary size changes per call;
            ``avg_non_ignore``: see ``ignore_mode``).

    ``forward(logits, label, weight=None, ignore_index=None)`` -> scalar; the mean runs over (B, T, H, W).
    The paper's softmax cross-entropy (Eq. 9) is mmseg's ``CrossEntropyLoss`` in the head's ``loss_decode``.
    """

    def __init__(self, loss_weight: float = 1.0, ignore_index: int = 255, ignore_mode: str = 'negative',
                 loss_name: str = 'loss_sem_seg', use_sigmoid: bool = True, reduction: str = 'mean',
                 **kwargs) -> None:
        super().__init__()
        reject_unsupported(type(self), kwargs, reasons=dict(
            class_weight='the vocabulary, and so the class count, changes from call to call',
            avg_non_ignore="ignore_mode='exclude' leaves ignored pixels out of the mean, 'negative' keeps them as "
            'negatives'))
        if not use_sigmoid:
            raise ValueError(f'{type(self).__name__} is a per-class sigmoid loss: use_sigmoid=False contradicts it '
                             "(remove it, or use mmseg's CrossEntropyLoss for the softmax loss).")
        if reduction != 'mean':
            raise ValueError(f"{type(self).__name__}: reduction={reduction!r} is not supported (only 'mean').")
        if ignore_mode not in ('negative', 'exclude'):
            raise ValueError(f"ignore_mode must be 'negative' or 'exclude', got {ignore_mode!r}")
        self.loss_weight, self.ignore_index, self.ignore_mode = loss_weight, ignore_index, ignore_mode
        self._loss_name = loss_name

    def forward(self, logits: torch.Tensor, label: torch.Tensor, weight: Optional[torch.Tensor] = None,
                ignore_index: Optional[int] = None, **kwargs) -> torch.Tensor:
        ignore = self.ignore_index if ignore_index is None else ignore_index
        t = logits.shape[1]
        valid = label != ignore
        if valid.any() and (label[valid].min() < 0 or label[valid].max() >= t):
            raise ValueError(f'labels must lie in [0, {t}) (the vocabulary has {t} names) or equal {ignore}; found '
                             f'values {sorted(label[valid].unique().tolist())[:10]}. Does the vocabulary match the '
                             f'dataset classes?')
        target = F.one_hot(torch.where(valid, label, torch.zeros_like(label)).long(), t)
        target = (target * valid.unsqueeze(-1)).permute(0, 3, 1, 2).to(logits.dtype)  # (B, T, H, W)
        loss = F.binary_cross_entropy_with_logits(logits, target, reduction='none')
        if weight is not None:
            loss = loss * weight.unsqueeze(1)
        if self.ignore_mode == 'negative':
            loss = loss.mean()
        else:
            mask = valid.unsqueeze(1).to(loss.dtype)
            loss = (loss * mask).sum() / (mask.sum() * t).clamp_min(1)
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        return self._loss_name

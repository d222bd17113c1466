"""Multi-class softmax focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017, Eq. 5).

mmseg's own ``FocalLoss`` is sigmoid-only (it asserts ``use_sigmoid=True``) and its CPU path fails with integer
labels, so segmentation methods that train with a softmax focal loss (FCtL: gamma=3) use this one.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.models.losses.utils import get_class_weight
from mmseg.registry import MODELS

from .mmseg_args import reject_unsupported, require_softmax


def softmax_focal_loss(cls_score: torch.Tensor,
                       label: torch.Tensor,
                       gamma: float = 2.0,
                       alpha: Optional[Union[float, torch.Tensor]] = None,
                       class_weight: Optional[torch.Tensor] = None,
                       weight: Optional[torch.Tensor] = None,
                       ignore_index: Optional[int] = 255,
                       reduction: str = 'mean',
                       avg_factor: Optional[float] = None,
                       eps: float = 1e-7) -> torch.Tensor:
    """Softmax focal loss ``-alpha_t * w_t * (1 - p_t)^gamma * log(p_t)`` with ``p_t = softmax(cls_score)[label]``.

    Args:
        cls_score: logits, shape (N, C) or (N, C, d1, ..., dk) e.g. (N, C, H, W).
        label: class indices, shape (N,) or (N, d1, ..., dk) e.g. (N, H, W); ``ignore_index`` marks pixels that
            contribute nothing (neither to the sum nor to the mean's denominator).
        gamma: focusing parameter; ``gamma=0`` gives (weighted) cross entropy exactly.
        alpha: ``None``, a scalar multiplying every term, or a (C,) tensor giving ``alpha_t = alpha[label]``.
            Unlike ``class_weight`` it does not enter the mean's denominator (the focal-loss paper's alpha).
        class_weight: (C,) tensor; like ``F.cross_entropy(weight=...)``: each pixel is weighted by
            ``class_weight[label]`` and ``'mean'`` divides by the sum of those weights, so ``gamma=0`` equals
            ``F.cross_entropy(..., weight=class_weight, ignore_index=...)``.
        weight: optional per-pixel weight, same shape as ``label`` (mmseg's pixel samplers pass one). As in mmseg's
            cross entropy it scales the terms but does not change the denominator.
        ignore_index: label value to skip; ``None`` means every label must be a valid class.
        reduction: ``'none'`` (per-pixel loss, ignored pixels 0, shape of ``label``), ``'mean'`` or ``'sum'``.
        avg_factor: if given with ``'mean'``, the sum is divided by it instead.
        eps: floor for ``1 - p_t`` before raising it to ``gamma``; keeps the gradient finite when a prediction is
            exactly certain and ``0 < gamma < 1``. Changes the value by at most ``eps**gamma * |log p_t|``, and
            ``log p_t`` is ~0 there.

    Returns:
        Scalar tensor for ``'mean'``/``'sum'``, else a tensor shaped like ``label``.
    """
    if cls_score.dim() < 2 or label.shape != cls_score.shape[:1] + cls_score.shape[2:]:
        raise ValueError(f'expected cls_score (N, C, ...) and label (N, ...) with matching N and spatial size, '
                         f'got cls_score {tuple(cls_score.shape)} and label {tuple(label.shape)}')
    num_classes = cls_score.size(1)
    label = label.long()
    valid = torch.ones_like(label, dtype=torch.bool) if ignore_index is None else label != ignore_index
    bad = valid & ((label < 0) | (label >= num_classes))
    if bad.any():
        raise ValueError(f'labels must lie in [0, {num_classes}) or equal ignore_index={ignore_index}; found '
                         f'{sorted(label[bad].unique().tolist())[:10]}. Check num_classes, reduce_zero_label and '
                         f'ignore_index in the config.')
    # ignored pixels get a dummy class so gather() stays in range; their terms are zeroed below
    safe_label = torch.where(valid, label, torch.zeros_like(label)).unsqueeze(1)

    # log_softmax, not log(softmax + eps): exact and stable, so gamma=0 reproduces F.cross_entropy bit for bit
    logpt = F.log_softmax(cls_score.float(), dim=1).gather(1, safe_label).squeeze(1)
    if gamma == 0:
        loss = -logpt
    else:
        pt = logpt.exp()
        loss = -(1.0 - pt).clamp(min=eps).pow(gamma) * logpt

    if alpha is not None:
        if isinstance(alpha, torch.Tensor) and alpha.dim() > 0:
            loss = loss * alpha.to(loss)[safe_label.squeeze(1)]
        else:
            loss = loss * float(alpha)

    if class_weight is not None:
        pixel_cw = class_weight.to(loss)[safe_label.squeeze(1)] * valid
    else:
        pixel_cw = valid.to(loss.dtype)
    loss = loss * pixel_cw
    if weight is not None:
        if weight.shape != label.shape:
            raise ValueError(f'weight must have the shape of label {tuple(label.shape)}, got {tuple(weight.shape)}')
        loss = loss * weight.to(loss)

    if reduction == 'none':
        return loss
    if reduction == 'sum':
        if avg_factor is not None:
            raise ValueError('avg_factor can not be used with reduction="sum"')
        return loss.sum()
    if reduction != 'mean':
        raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    denom = pixel_cw.sum() if avg_factor is None else avg_factor
    # all pixels ignored -> 0 (not NaN), and still connected to the graph
    return loss.sum() / torch.clamp(torch.as_tensor(denom, dtype=loss.dtype, device=loss.device),
                                    min=torch.finfo(torch.float32).eps)


@MODELS.register_module()
class SoftmaxFocalLoss(nn.Module):
    """Multi-class softmax focal loss for semantic segmentation.

    ``loss = loss_weight * mean_over_valid_pixels( -alpha_t * cw_t * (1 - p_t)^gamma * log p_t )``
    with ``p_t`` the softmax probability of the true class (Lin et al. 2017, Eq. 5). Used as
    ``loss_decode=dict(type='SoftmaxFocalLoss', gamma=3.0)`` in a decode head; mmseg's ``BaseDecodeHead`` calls
    ``forward(seg_logits (N, C, H, W), seg_label (N, H, W), weight=seg_weight, ignore_index=head.ignore_index)``.

    Args:
        gamma: focusing parameter. 2.0 is the paper's default; FCtL uses 3.0. ``gamma=0`` is cross entropy.
        alpha: ``None``, a scalar, or a per-class list of length C (``alpha_t = alpha[label]``); not part of the
            mean's denominator.
        class_weight: per-class weights (list, or a ``.npy``/json/yaml path as in mmseg's CrossEntropyLoss); they
            enter the mean's denominator like ``F.cross_entropy(weight=...)``.
        loss_weight: factor on the final loss.
        ignore_index: default label to ignore; the ``ignore_index`` passed to ``forward`` (the decode head's) wins.
        reduction: ``'mean'`` (over non-ignored pixels), ``'sum'`` or ``'none'``.
        eps: floor for ``1 - p_t`` (see :func:`softmax_focal_loss`).
        loss_name: key of this term in the loss dict; must start with ``loss_`` to be back-propagated.
        avg_non_ignore: mmseg's switch for ``'mean'``: ``True`` (default) divides by the non-ignored pixels (by the
            sum of their class weights with ``class_weight``, as ``F.cross_entropy``); ``False`` (mmseg's
            CrossEntropyLoss default) by all pixels, ignored ones included. With ``class_weight`` the mean is always
            the weighted mean over non-ignored pixels (see ``mmseg_args``).
        use_sigmoid, use_mask: mmseg's CrossEntropyLoss switches, accepted as ``False`` only (a softmax loss), so
            a stock ``loss_decode`` turns into this loss by changing ``type``. Other arguments are refused by name.
    """

    def __init__(self,
                 gamma: float = 2.0,
                 alpha: Optional[Union[float, Sequence[float]]] = None,
                 class_weight: Optional[Union[List[float], str]] = None,
                 loss_weight: float = 1.0,
                 ignore_index: Optional[int] = 255,
                 reduction: str = 'mean',
                 eps: float = 1e-7,
                 loss_name: str = 'loss_focal',
                 avg_non_ignore: bool = True,
                 use_sigmoid: bool = False,
                 use_mask: bool = False,
                 **kwargs) -> None:
        super().__init__()
        reject_unsupported(type(self), kwargs)
        require_softmax(type(self), use_sigmoid, use_mask)
        if gamma < 0:
            raise ValueError(f'gamma must be >= 0, got {gamma}')
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
        self.gamma = float(gamma)
        self.alpha = alpha if alpha is None or isinstance(alpha, (int, float)) else [float(a) for a in alpha]
        self.class_weight = get_class_weight(class_weight)
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.eps = eps
        self.avg_non_ignore = avg_non_ignore
        self._loss_name = loss_name

    def forward(self,
                cls_score: torch.Tensor,
                label: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: Optional[int] = None,
                **kwargs) -> torch.Tensor:
        """Compute the loss.

        Args:
            cls_score: logits (N, C, H, W) (any (N, C, ...) works).
            label: class indices (N, H, W).
            weight: optional per-pixel weight (N, H, W).
            avg_factor: optional denominator for ``'mean'``.
            reduction_override: ``None``, ``'none'``, ``'mean'`` or ``'sum'``.
            ignore_index: label to ignore; ``None`` means "use ``self.ignore_index``" (set that to ``None`` to
                ignore nothing).

        Returns:
            The weighted loss: a scalar, or (N, H, W) for ``'none'``.
        """
        reduction = reduction_override if reduction_override else self.reduction
        if ignore_index is None:
            ignore_index = self.ignore_index
        alpha = self.alpha
        if isinstance(alpha, list):
            if len(alpha) != cls_score.size(1):
                raise ValueError(f'alpha has {len(alpha)} entries but the logits have {cls_score.size(1)} classes')
            alpha = cls_score.new_tensor(alpha)
        class_weight = None
        if self.class_weight is not None:
            class_weight = cls_score.new_tensor(self.class_weight)
            if class_weight.numel() != cls_score.size(1):
                raise ValueError(f'class_weight has {class_weight.numel()} entries but the logits have '
                                 f'{cls_score.size(1)} classes')
        if avg_factor is None and reduction == 'mean' and not self.avg_non_ignore and class_weight is None:
            avg_factor = label.numel()  # mmseg's avg_non_ignore=False: ignored pixels count in the denominator
        loss = softmax_focal_loss(
            cls_score, label, gamma=self.gamma, alpha=alpha, class_weight=class_weight, weight=weight,
            ignore_index=ignore_index, reduction=reduction, avg_factor=avg_factor, eps=self.eps)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'gamma={self.gamma}, alpha={self.alpha}, class_weight={self.class_weight}, '
                f'loss_weight={self.loss_weight}, ignore_index={self.ignore_index}, reduction={self.reduction!r}, '
                f'avg_non_ignore={self.avg_non_ignore}')

    @property
    def loss_name(self) -> str:
        """Key of this term in the loss dict (``BaseDecodeHead.loss_by_feat`` sums terms with the same name)."""
        return self._loss_name

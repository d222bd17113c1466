"""Vision-language alignment loss of LoVLANet (paper Sec. 2.2, loss function):

    L_align = -log( exp(cos(f_v, f_t+) / tau_a) / sum_t' exp(cos(f_v, f_t') / tau_a) )

The paper does not define f_v. ``mode='prototype'`` (default; inferred): f_v is the L2-normalised mean of the
pixel embeddings of one class in one image (a region-level signal that differs from the pixel CE);
``mode='pixel'`` (option B): f_v is every valid pixel embedding (pixel InfoNCE, close to a second CE).
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS

from .mmseg_args import reject_unsupported

__all__ = ['VLAlignLoss', 'vl_align_loss']


def vl_align_loss(vis_emb: torch.Tensor, text_emb: torch.Tensor, gt: torch.Tensor, mode: str = 'prototype',
                  temperature: float = 0.07, ignore_index: int = 255) -> torch.Tensor:
    """InfoNCE between visual embeddings and class text anchors.

    Args:
        vis_emb: ``(B, D, h, w)`` L2-normalised (over D) pixel embeddings.
        text_emb: ``(K, D)`` L2-normalised class embeddings.
        gt: ``(B, H, W)`` long labels in ``[0, K)`` or ``ignore_index``; nearest-resized to ``(h, w)``.

    Returns:
        scalar (fp32); 0 (connected to the graph, not NaN) when no pixel is valid.
    """
    b, d, h, w = vis_emb.shape
    k = text_emb.shape[0]
    if gt.shape[-2:] != (h, w):
        gt = F.interpolate(gt[:, None].float(), size=(h, w), mode='nearest')[:, 0].long()
    v = vis_emb.float().flatten(2)  # (B, D, hw)
    t = text_emb.float()
    gt = gt.flatten(1)  # (B, hw)
    valid = (gt != ignore_index) & (gt >= 0) & (gt < k)
    if mode == 'prototype':
        onehot = F.one_hot(gt.clamp(0, k - 1), k).float() * valid[..., None]  # (B, hw, K)
        sums = torch.einsum('bdn,bnk->bkd', v, onehot)  # (B, K, D) class sums
        present = onehot.sum(1) > 0  # (B, K)
        if not present.any():
            return vis_emb.sum() * 0.
        protos = F.normalize(sums[present], dim=-1)  # (M, D)
        target = torch.arange(k, device=gt.device).expand(b, k)[present]  # (M,)
        return F.cross_entropy(protos @ t.t() / temperature, target)
    if mode == 'pixel':
        if not valid.any():
            return vis_emb.sum() * 0.
        pix = v.transpose(1, 2)[valid]  # (M, D)
        return F.cross_entropy(pix @ t.t() / temperature, gt[valid])
    raise ValueError(f"mode must be 'prototype' or 'pixel', got {mode!r}")


@MODELS.register_module()
class VLAlignLoss(nn.Module):
    """Registered wrapper of :func:`vl_align_loss` (``loss_weight`` = lambda, 1 in the paper).

    ``forward(vis_emb (B, D, h, w), text_emb (K, D), gt (B, H, W))`` -> weighted scalar.
    """

    def __init__(self, mode: str = 'prototype', temperature: float = 0.07, loss_weight: float = 1.0,
                 ignore_index: int = 255, loss_name: str = 'loss_align', **kwargs) -> None:
        super().__init__()
        # an InfoNCE between visual and text embeddings, not a pixel classifier loss
        reject_unsupported(type(self), kwargs, reasons=dict(
            use_sigmoid='it is a softmax over the class text anchors'))
        if mode not in ('prototype', 'pixel'):
            raise ValueError(f"mode must be 'prototype' or 'pixel', got {mode!r}")
        self.mode = mode
        self.temperature = temperature
        self.loss_weight = loss_weight
        self.ignore_index = ignore_index
        self._loss_name = loss_name

    def forward(self, vis_emb: torch.Tensor, text_emb: torch.Tensor, gt: torch.Tensor,
                ignore_index: Optional[int] = None, **kwargs) -> torch.Tensor:
        ignore = self.ignore_index if ignore_index is None else ignore_index
        return self.loss_weight * vl_align_loss(vis_emb, text_emb, gt, self.mode, self.temperature, ignore)

    @property
    def loss_name(self) -> str:
        return self._loss_name

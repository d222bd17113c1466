"""D2LS dictionary contrastive loss (paper Eqs. 5-8): intra-class scatter / inter-class centre spread."""
from typing import Optional

import torch.nn as nn
from torch import Tensor

from mmseg.registry import MODELS

from .mmseg_args import reject_unsupported

from ..utils.dist_ops import all_gather_with_grad


@MODELS.register_module()
@MODELS.register_module(name='DictionaryContrastiveLoss')
class DictContrastiveLoss(nn.Module):
    """Ratio of intra-class to inter-class spread of a batch of per-image dictionaries.

    For D of shape (B, N, C) (B images, N class embeddings)::

        mu_n    = 1/B sum_b D[b, n]                                   (Eq. 5)
        L_intra = 1/(B N) sum_{b,n} ||D[b, n] - mu_n||^2               (Eq. 6)
        L_inter = 2/(N (N-1)) sum_{n<m} ||mu_n - mu_m||^2              (Eq. 7)
        L_con   = L_intra / (L_inter + eps)                            (Eq. 8)

    The loss is identically 0 for B = 1, so with one image per GPU it must see the whole global batch:
    ``gather_across_gpus=True`` concatenates D from every rank with a differentiable all-gather (gloo/nccl);
    every rank then computes the same value and DDP's gradient averaging gives the single-process gradient.

    Args:
        eps: stabiliser of the denominator (1e-6).
        gather_across_gpus: all-gather D across ranks when a process group is initialised.
        loss_weight: multiplier (D2LS: 1.0).
        loss_name: key in the loss dict.

    Shapes: dictionary (B, N, C) -> scalar.
    """

    def __init__(self,
                 eps: float = 1e-6,
                 gather_across_gpus: bool = True,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_dict_con',
                 **kwargs) -> None:
        super().__init__()
        # a loss on the dictionary (B, N, C), not on pixels: mmseg's pixel-loss arguments do not apply
        reject_unsupported(type(self), kwargs, reasons=dict(
            use_sigmoid='it is computed on the dictionary, not on pixel logits',
            class_weight='it is computed on the dictionary, not on pixel labels'))
        self.eps = eps
        self.gather_across_gpus = gather_across_gpus
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, dictionary: Tensor, weight: Optional[Tensor] = None, **kwargs) -> Tensor:
        d = dictionary.float()
        if self.gather_across_gpus:
            d = all_gather_with_grad(d)
        b, n, _ = d.shape
        mu = d.mean(0)  # (N, C)
        intra = (d - mu).pow(2).sum(-1).mean()
        if n < 2:
            return self.loss_weight * intra * 0
        diff = (mu[:, None] - mu[None]).pow(2).sum(-1)  # (N, N), symmetric, zero diagonal
        inter = diff.sum() / (n * (n - 1))  # = 2/(N(N-1)) sum_{n<m}
        return self.loss_weight * intra / (inter + self.eps)

    @property
    def loss_name(self) -> str:
        return self._loss_name

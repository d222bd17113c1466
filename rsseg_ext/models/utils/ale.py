"""ALE: FCtL's alternating local enhancement (paper §3.4, Alg. 1) and the box crop it needs."""
import copy
from typing import Dict, List

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS

from .lfi import LocalFeatureInteraction

#: variant -> (number of references, LFI calls)
ALE_VARIANTS = {'a': (1, 1), 'b': (1, 3), 'c': (2, 1), 'd': (2, 4), 'e': (2, 7)}


def crop_resize(feat: torch.Tensor, boxes: torch.Tensor, size=None) -> torch.Tensor:
    """Bilinearly resample the region ``boxes`` of ``feat`` to ``size``.

    Args:
        feat: ``(B, C, H, W)``.
        boxes: ``(B, 4)`` normalised ``(x1, y1, x2, y2)`` in [0, 1] (``align_corners=False`` geometry: 0 and 1 are
            the outer edges of the border pixels).
        size: output ``(h, w)`` (default: the input size).

    Returns:
        ``(B, C, h, w)``; ``boxes = (0, 0, 1, 1)`` at the input size returns ``feat`` unchanged.
    """
    b, c, h, w = feat.shape
    size = (h, w) if size is None else tuple(size)
    boxes = boxes.to(feat)
    sx, sy = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    tx, ty = boxes[:, 0] + boxes[:, 2] - 1, boxes[:, 1] + boxes[:, 3] - 1
    zero = torch.zeros_like(sx)
    theta = torch.stack([torch.stack([sx, zero, tx], -1), torch.stack([zero, sy, ty], -1)], dim=1)  # (B, 2, 3)
    grid = F.affine_grid(theta, (b, c) + size, align_corners=False)
    return F.grid_sample(feat, grid, mode='bilinear', padding_mode='zeros', align_corners=False)


@MODELS.register_module()
class AlternatingLocalEnhancement(nn.Module):
    """Target (patch) and cropped reference features refine each other with LFI blocks.

    Variant (d) (default, Alg. 1), with references M and L cropped to the patch region::

        I1 = f(X_I; {M, L});  M1 = f(M; {X_I, L});  L1 = f(L; {X_I, M})   # from the original inputs
        out = f(I1; {M1, L1})

    (a) ``f(X_I; R)``; (b) ``I1 = f(X_I; R), R1 = f(R; X_I), out = f(I1; R1)``; (c) ``f(X_I; {M, L})``;
    (e) the first line twice (the second round on the first round's outputs), then the last line.

    Args:
        channels: ``c``.
        variant: ``'a'``..``'e'``.
        share_lfi: one LFI per role (target / each reference) reused across rounds ("recurrently utilize");
            default independent weights per call.
        lfi: keyword arguments of :class:`LocalFeatureInteraction` (``num_refs`` is set here).

    Shapes: ``x (B, c, h, w)``, ``refs`` (already cropped/resized to ``(h, w)``) -> ``(B, c, h, w)``.
    """

    def __init__(self, channels: int, variant: str = 'd', share_lfi: bool = False, lfi: Dict = None) -> None:
        super().__init__()
        if variant not in ALE_VARIANTS:
            raise ValueError(f'variant must be one of {sorted(ALE_VARIANTS)}, got {variant!r}')
        self.variant, self.share_lfi = variant, share_lfi
        self.num_refs, n_calls = ALE_VARIANTS[variant]
        lfi = dict(lfi or {})
        lfi.pop('num_refs', None)
        roles = 1 + self.num_refs if variant in ('b', 'd', 'e') else 1
        n_blocks = roles if share_lfi else n_calls
        self.blocks = nn.ModuleList(
            LocalFeatureInteraction(channels, num_refs=self.num_refs, **copy.deepcopy(lfi)) for _ in range(n_blocks))

    def _block(self, call: int, role: int) -> LocalFeatureInteraction:
        return self.blocks[role if self.share_lfi else call]

    def _round(self, xs: List[torch.Tensor], call0: int) -> List[torch.Tensor]:
        """Every member refined by all the others, in parallel (one "round" of L1-L3)."""
        return [self._block(call0 + i, i)(xs[i], [x for j, x in enumerate(xs) if j != i]) for i in range(len(xs))]

    def forward(self, x: torch.Tensor, refs: List[torch.Tensor]) -> torch.Tensor:
        if len(refs) != self.num_refs:
            raise ValueError(f'ALE variant ({self.variant}) takes {self.num_refs} reference(s), got {len(refs)}')
        if self.variant in ('a', 'c'):
            return self._block(0, 0)(x, list(refs))
        xs = self._round([x] + list(refs), 0)
        call = len(xs)
        if self.variant == 'e':
            xs = self._round(xs, call)
            call += len(xs)
        return self._block(call, 0)(xs[0], xs[1:])

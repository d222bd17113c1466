"""FCtL's fusion neck: ``F = X_I + LCF(X) + ALE(X)`` on one feature level (paper §3.5)."""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmseg.registry import MODELS

from ..utils.ale import AlternatingLocalEnhancement, crop_resize
from ..utils.lcc import LocalityAwareContextCorrelation
from ..utils.mcf import MultiContextFusion


@MODELS.register_module()
class LCFALEFusion(BaseModule):
    """Locality-aware context fusion (LCC per branch + MCF) and alternating local enhancement.

    Branches are the model's contexts in order (e.g. ``(1.0, 3.0, 'global')``): the self branch (scale 1) uses
    the patch features ``X_I`` themselves, every other branch its context backbone's features ``X_U``.

    * LCF (Eq. 5): ``Xbar_I = MCF({LCC_U(X_I, X_U)})``.
    * ALE (Alg. 1): ``Xhat_I = ALE(X_I, {CropResize(X_U, box_U)})`` over ``ref_branches``.
    * output: ``X_I + Xbar_I + gamma_ALE * Xhat_I`` (``gamma_ALE`` only when ``ale_gamma_init`` is set; literal sum
      otherwise). ``concat_ablation=True`` replaces ALE with ``Conv1x1(concat(X_I, refs))`` (paper Table 6).

    Args:
        in_channels: ``c`` of the fused level (512 for VGG16 pool5 / MiT stage 4).
        num_branches: ``T`` (``len(contexts)``).
        self_branch_index: index of the scale-1 branch, or ``None`` when every branch is a context.
        use_lcf, use_ale: switch the two parts (ablations "ALE only" / "LCF only").
        ale_gamma_init: ``None`` (literal sum) or the initial value of a learnable scale on ``Xhat_I``.
        lcc: keyword arguments of :class:`LocalityAwareContextCorrelation`.
        mcf: keyword arguments of :class:`MultiContextFusion`.
        ale: ``variant``, ``ref_branches`` (default: every non-self branch), ``share_lfi``, ``lfi``.
        concat_ablation: the "Concat" row of Table 6.

    Shapes: ``x_local (B, c, h, w)``, ``branch_feats`` T tensors ``(B, c, h, w)``, ``boxes (B, T, 4)`` (the patch in
    each branch's normalised x1y1x2y2; the self branch's is ``(0, 0, 1, 1)``) -> ``(B, c, h, w)``.
    """

    def __init__(self, in_channels: int = 512, num_branches: int = 3, self_branch_index: Optional[int] = 0,
                 use_lcf: bool = True, use_ale: bool = True, ale_gamma_init: Optional[float] = None,
                 lcc: Optional[Dict] = None, mcf: Optional[Dict] = None, ale: Optional[Dict] = None,
                 concat_ablation: bool = False, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels, self.num_branches = in_channels, num_branches
        self.self_branch_index = self_branch_index
        self.use_lcf, self.use_ale, self.concat_ablation = use_lcf, use_ale, concat_ablation
        if use_lcf:
            lcc = dict(lcc or {})
            self.lcc = nn.ModuleList(
                LocalityAwareContextCorrelation(in_channels, **copy.deepcopy(lcc)) for _ in range(num_branches))
            self.mcf = MultiContextFusion(in_channels, num_branches, **dict(mcf or {}))
        ale = dict(ale or {})
        refs = ale.pop('ref_branches', None)
        if refs is None:
            refs = [i for i in range(num_branches) if i != self_branch_index]
        self.ref_branches = [int(r) for r in refs]
        if any(not 0 <= r < num_branches for r in self.ref_branches):
            raise ValueError(f'ref_branches {self.ref_branches} out of range for {num_branches} branches')
        ale.pop('crop_mode', None)  # grid_sample is the one implementation
        if use_ale and concat_ablation:
            raise ValueError('concat_ablation replaces ALE: set use_ale=False with it')
        if use_ale:
            variant = ale.get('variant', 'd')
            if variant in ('a', 'b') and len(self.ref_branches) != 1:
                raise ValueError(f'ALE variant ({variant}) uses one reference; set ale.ref_branches to one index, '
                                 f'got {self.ref_branches}')
            self.ale = AlternatingLocalEnhancement(in_channels, **ale)
            self.ale_gamma = nn.Parameter(torch.tensor(float(ale_gamma_init))) if ale_gamma_init is not None \
                else None
        if concat_ablation:
            self.concat_conv = nn.Conv2d(in_channels * (1 + len(self.ref_branches)), in_channels, 1)

    def _refs(self, branch_feats: List[torch.Tensor], boxes: torch.Tensor, size) -> List[torch.Tensor]:
        out = []
        for r in self.ref_branches:
            if r == self.self_branch_index:
                out.append(branch_feats[r])
            else:
                out.append(crop_resize(branch_feats[r], boxes[:, r], size))
        return out

    def forward(self, x_local: torch.Tensor, branch_feats: Sequence[torch.Tensor], boxes: torch.Tensor,
                return_parts: bool = False) -> Union[torch.Tensor, Dict[str, torch.Tensor]]:
        if len(branch_feats) != self.num_branches:
            raise ValueError(f'expected {self.num_branches} branch features, got {len(branch_feats)}')
        out = x_local
        parts = {}
        if self.use_lcf:
            corr = [lcc(x_local, xu, boxes[:, i]) for i, (lcc, xu) in enumerate(zip(self.lcc, branch_feats))]
            parts['lcf'], parts['mcf_weights'] = self.mcf(corr)
            out = out + parts['lcf']
        if self.use_ale or self.concat_ablation:
            refs = self._refs(list(branch_feats), boxes, x_local.shape[-2:])
            if self.concat_ablation:
                parts['ale'] = self.concat_conv(torch.cat([x_local] + refs, dim=1))
            else:
                parts['ale'] = self.ale(x_local, refs)
                if self.ale_gamma is not None:
                    parts['ale'] = self.ale_gamma * parts['ale']
            out = out + parts['ale']
        if return_parts:
            parts['out'] = out
            return parts
        return out

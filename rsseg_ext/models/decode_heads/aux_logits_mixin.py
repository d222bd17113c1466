"""Losses and prediction for heads whose ``forward`` returns ``(main_logits, *aux_logits)`` (D2LS, SCSM, LOGCAN++)."""
from contextlib import contextmanager
from typing import List, Sequence, Tuple, Union

import torch.nn as nn
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList, add_prefix


class AuxLogitsLossMixin:
    """Put before ``BaseDecodeHead`` in the bases (mmseg's ``DAHead`` idiom, one shared copy).

    Every auxiliary output is registered once with :meth:`_add_aux_logits` (name -> losses -> prefix): its loss
    configs are built into ``self.<name>`` and its keys are reported as ``<prefix>.<loss_name>`` and
    ``<prefix>.acc_seg``. ``forward`` returns ``(main, aux_1, ...)`` in registration order (or the main logits
    alone where there is nothing to supervise). ``loss_by_feat`` runs ``BaseDecodeHead.loss_by_feat`` on every
    output (resize to the label, sampler, ignore index, accuracy unchanged): ``loss_decode`` on the main logits,
    ``self.<name>`` on each auxiliary one. ``predict_by_feat`` uses the main logits.
    """

    def _add_aux_logits(self, name: str, loss_cfg: Union[ConfigType, Sequence[ConfigType]], prefix: str) -> None:
        """Register the next auxiliary output: build ``loss_cfg`` (a dict or a list of dicts) as ``self.<name>``."""
        cfgs = [loss_cfg] if isinstance(loss_cfg, dict) else loss_cfg
        if not isinstance(cfgs, (list, tuple)) or not all(isinstance(c, dict) for c in cfgs):
            raise TypeError(f'{name} must be a dict or a list of dicts, got {type(loss_cfg)}')
        self.add_module(name, nn.ModuleList([MODELS.build(c) for c in cfgs]))
        # a plain tuple attribute: nn.Module keeps it out of the state dict
        self.aux_logits_losses = getattr(self, 'aux_logits_losses', ()) + ((name, prefix), )

    def predict_by_feat(self, seg_logits: Union[Tensor, Tuple[Tensor, ...]], batch_img_metas: List[dict]) -> Tensor:
        """Main logits only, resized to the input: ``(B, K, H, W)``."""
        if isinstance(seg_logits, (tuple, list)):
            seg_logits = seg_logits[0]
        return super().predict_by_feat(seg_logits, batch_img_metas)

    @contextmanager
    def _swap_losses(self, losses: nn.ModuleList):
        # BaseDecodeHead.loss_by_feat reads self.loss_decode; reuse it unchanged for an auxiliary output
        saved = self.loss_decode
        self.loss_decode = losses
        try:
            yield
        finally:
            self.loss_decode = saved

    def loss_by_feat(self, seg_logits: Union[Tensor, Tuple[Tensor, ...]], batch_data_samples: SampleList) -> dict:
        main, *aux = seg_logits if isinstance(seg_logits, (tuple, list)) else (seg_logits, )
        registered = getattr(self, 'aux_logits_losses', ())
        if len(aux) != len(registered):
            raise ValueError(f'{type(self).__name__}.loss_by_feat expects the main logits and {len(registered)} '
                             f'auxiliary logits ({[n for n, _ in registered]}), got {len(aux)} auxiliary')
        losses = super().loss_by_feat(main, batch_data_samples)
        for (name, prefix), logits in zip(registered, aux):
            with self._swap_losses(getattr(self, name)):
                losses.update(add_prefix(super().loss_by_feat(logits, batch_data_samples), prefix))
        return losses

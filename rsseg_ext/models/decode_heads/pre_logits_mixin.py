"""Losses and prediction for heads whose ``forward`` returns ``(main_logits, pre_logits)`` (SCSM, LOGCAN++)."""
from contextlib import contextmanager
from typing import List, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.utils import is_list_of
from torch import Tensor

from mmseg.registry import MODELS
from mmseg.utils import ConfigType, SampleList, add_prefix


class PreLogitsLossMixin:
    """Put before ``BaseDecodeHead`` in the bases (DAHead's idiom, one shared copy).

    ``predict_by_feat`` uses the main logits; ``loss_by_feat`` reports the main losses as ``<loss_name>`` (+
    ``acc_seg``) and the ``pre_loss_decode`` losses on the pre-classification as ``pre.<loss_name>``, both through
    ``BaseDecodeHead.loss_by_feat`` (resizing, ignore index, sampler unchanged).
    """

    def _build_pre_losses(self, pre_loss_decode: Union[ConfigType, Sequence[ConfigType]]) -> None:
        if isinstance(pre_loss_decode, dict):
            pre_loss_decode = [pre_loss_decode]
        if not is_list_of(pre_loss_decode, dict):
            raise TypeError(f'pre_loss_decode must be a dict or a list of dicts, got {type(pre_loss_decode)}')
        self.pre_loss_decode = nn.ModuleList([MODELS.build(c) for c in pre_loss_decode])

    def predict_by_feat(self, seg_logits: Union[Tensor, Tuple[Tensor, ...]], batch_img_metas: List[dict]) -> Tensor:
        """Main logits only, resized to the input: ``(B, K, H, W)``."""
        if isinstance(seg_logits, (tuple, list)):
            seg_logits = seg_logits[0]
        return super().predict_by_feat(seg_logits, batch_img_metas)

    @contextmanager
    def _swap_losses(self, losses: nn.ModuleList):
        # BaseDecodeHead.loss_by_feat reads self.loss_decode; reuse it unchanged for the pre-classification
        saved = self.loss_decode
        self.loss_decode = losses
        try:
            yield
        finally:
            self.loss_decode = saved

    def loss_by_feat(self, seg_logits: Tuple[Tensor, Tensor], batch_data_samples: SampleList) -> dict:
        main, pre = seg_logits
        losses = super().loss_by_feat(main, batch_data_samples)
        with self._swap_losses(self.pre_loss_decode):
            losses.update(add_prefix(super().loss_by_feat(pre, batch_data_samples), 'pre'))
        return losses

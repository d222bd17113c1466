"""Data preprocessor for channel-stacked patch + context inputs (FCtL)."""
from typing import Any, Dict

import torch

from mmseg.models.data_preprocessor import SegDataPreProcessor
from mmseg.utils import stack_batch
from mmseg.registry import MODELS


@MODELS.register_module()
class MultiContextSegDataPreProcessor(SegDataPreProcessor):
    """``SegDataPreProcessor`` that converts and normalises every 3-channel group of a stacked input.

    Training samples are ``(3 (1 + n_ctx), p, p)`` (the patch, then each context); test samples are the full
    ``(3, H, W)`` image. The stock class converts BGR->RGB only when ``C == 3`` (it would silently skip stacked
    inputs) and its ``mean``/``std`` have one value per channel; here ``mean``/``std`` are given once (3 values)
    and applied to each group, so one config serves both.

    Args:
        group_channels: channels of one image (3).
        **kwargs: :class:`SegDataPreProcessor` (``mean``, ``std``, ``bgr_to_rgb``, ``size``, ``pad_val``...).
    """

    def __init__(self, group_channels: int = 3, **kwargs) -> None:
        super().__init__(**kwargs)
        self.group_channels = int(group_channels)

    def _convert(self, x: torch.Tensor) -> torch.Tensor:
        """``(C, H, W)`` raw -> float, channel order converted and normalised per group."""
        g = self.group_channels
        c, h, w = x.shape
        if c % g:
            raise ValueError(f'input has {c} channels, not a multiple of group_channels={g} '
                             '(patch + contexts are stacked in groups of 3)')
        x = x.float().view(c // g, g, h, w)
        if self.channel_conversion and g == 3:
            x = x[:, [2, 1, 0]]
        if self._enable_normalize:
            x = (x - self.mean[None]) / self.std[None]
        return x.reshape(c, h, w)

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        data = self.cast_data(data)  # type: ignore
        inputs = [self._convert(x) for x in data['inputs']]
        data_samples = data.get('data_samples', None)
        if training:
            assert data_samples is not None, 'During training, `data_samples` must be defined.'
            if self.size is None and self.size_divisor is None:
                # patches all have the patch size: nothing to pad (the stock class insists on a size)
                inputs = torch.stack(inputs, dim=0)
                for s in data_samples:
                    s.set_metainfo(dict(pad_shape=tuple(inputs.shape[-2:])))
                return dict(inputs=inputs, data_samples=data_samples)
            inputs, data_samples = stack_batch(inputs=inputs, data_samples=data_samples, size=self.size,
                                               size_divisor=self.size_divisor, pad_val=self.pad_val,
                                               seg_pad_val=self.seg_pad_val)
            if self.batch_augments is not None:
                inputs, data_samples = self.batch_augments(inputs, data_samples)
        else:
            img_size = inputs[0].shape[1:]
            assert all(x.shape[1:] == img_size for x in inputs), 'The image size in a batch should be the same.'
            if self.test_cfg:
                inputs, padded_samples = stack_batch(inputs=inputs, size=self.test_cfg.get('size', None),
                                                     size_divisor=self.test_cfg.get('size_divisor', None),
                                                     pad_val=self.pad_val, seg_pad_val=self.seg_pad_val)
                for data_sample, pad_info in zip(data_samples, padded_samples):
                    data_sample.set_metainfo({**pad_info})
            else:
                inputs = torch.stack(inputs, dim=0)
        return dict(inputs=inputs, data_samples=data_samples)

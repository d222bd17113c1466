"""FCN-8s decoder (Long et al., CVPR 2015, "at-once" recipe), FCtL's VGG16 decoder."""
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS


def bilinear_kernel(size: int) -> torch.Tensor:
    """The ``(size, size)`` bilinear upsampling kernel of FCN's fixed deconvolutions."""
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    og = np.ogrid[:size, :size]
    k = (1 - abs(og[0] - center) / factor) * (1 - abs(og[1] - center) / factor)
    return torch.from_numpy(k).float()


class _Upsample(nn.Module):
    """Exact ``factor``x upsampling: a fixed (frozen, per-class) bilinear transposed conv, a learned one initialised
    bilinear, or ``F.interpolate``. ``(B, K, h, w) -> (B, K, factor h, factor w)``."""

    def __init__(self, channels: int, factor: int, mode: str = 'fixed_bilinear', padding: Optional[int] = None) -> None:
        super().__init__()
        if mode not in ('fixed_bilinear', 'learned', 'interp'):
            raise ValueError(f"upsample must be 'fixed_bilinear', 'learned' or 'interp', got {mode!r}")
        self.mode, self.factor, self.channels = mode, factor, channels
        k = 2 * factor
        weight = bilinear_kernel(k).expand(channels, 1, k, k).clone()
        # factor // 2: exactly factor x the input size; 0: FCN's unpadded deconvolution (factor x + factor)
        self.padding = factor // 2 if padding is None else int(padding)
        if mode == 'fixed_bilinear':
            self.register_buffer('weight', weight, persistent=False)  # frozen, not a parameter
        elif mode == 'learned':
            self.deconv = nn.ConvTranspose2d(channels, channels, k, stride=factor, padding=self.padding,
                                             groups=channels, bias=False)
            with torch.no_grad():
                self.deconv.weight.copy_(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == 'interp':
            return F.interpolate(x, scale_factor=self.factor, mode='bilinear', align_corners=False)
        if self.mode == 'learned':
            return self.deconv(x)
        return F.conv_transpose2d(x, self.weight.to(x.dtype), stride=self.factor, padding=self.padding,
                                  groups=self.channels)


def _match(x: torch.Tensor, size) -> torch.Tensor:
    """Top-left crop to ``size`` (ceil-mode pooling pads bottom/right, so the grids share the origin); resize if
    ``x`` is smaller."""
    h, w = size
    if x.shape[-2] >= h and x.shape[-1] >= w:
        return x[..., :h, :w]
    return resize(x, size=(h, w), mode='bilinear', align_corners=False)


def _crop_at(x: torch.Tensor, offset: int, size) -> torch.Tensor:
    """``x[..., o:o + h, o:o + w]``: FCN's fixed-offset crop (Caffe ``Crop`` layer). Raises if ``x`` is too small,
    which only happens when the backbone does not pad conv1_1 by 100."""
    h, w = (int(v) for v in size)
    if x.shape[-2] < offset + h or x.shape[-1] < offset + w:
        raise ValueError(f"FCN8sHead(geometry='release') crops {h}x{w} at offset {offset} from a "
                         f'{tuple(x.shape[-2:])} map: the backbone must pad conv1_1 by 100 '
                         '(PaddedStemVGG(stem_padding=100))')
    return x[..., offset:offset + h, offset:offset + w]


@MODELS.register_module()
class FCN8sHead(BaseDecodeHead):
    """FCN-8s on VGG16 pool3/pool4/pool5.

    ``h = drop(relu(conv6(F)))`` (7x7, -> ``channels``), ``h = relu(conv7(h))`` (1x1), ``s32 = cls_seg(h)``
    (dropout + 1x1 score), ``s16 = up2(s32) + score_pool4(0.01 pool4)``, ``s8 = up2(s16) + score_pool3(1e-4 pool3)``,
    ``out = up8(s8)``; sizes that disagree are cropped top-left. The logits are cropped top-left to the image size
    (e.g. 512 -> 508) in ``loss_by_feat``/``predict_by_feat`` instead of the base class's resize (a resize would
    misalign by ~0.8%).

    ``geometry='release'`` is the original FCN-8s geometry as the FCtL release computes it (``models/fcn.py`` of
    github.com/liqiokkk/FCtL, itself the Caffe FCN-8s): conv6 unpadded, the deconvolutions unpadded
    (``factor x + factor``), the pool4 score cropped at offset 5 and the pool3 score at offset 9 to the upsampled
    map, the final map cropped at offset 31 to the image. It needs a backbone whose conv1_1 pads by 100
    (:class:`~rsseg_ext.models.backbones.PaddedStemVGG`); the parameters are the same in both geometries.

    Args:
        in_channels: channels of (pool3, pool4, pool5), e.g. ``(256, 512, 512)``.
        channels: width of conv6/conv7 (4096 in FCN).
        fc_kernel_size: conv6 kernel (7: VGG fc6 as a conv).
        skip_scales: pre-scales of (pool3, pool4) (FCN at-once: ``(1e-4, 1e-2)``).
        upsample: ``'fixed_bilinear'`` (frozen, FCN), ``'learned'`` or ``'interp'``.
        geometry: ``'paper'`` (padded conv6/deconvolutions, top-left crops; for a padding-1 VGG) or ``'release'``
            (FCN's pad-100 geometry with crop offsets 5 / 9 / 31, for converted FCtL release weights).
        fc_init_from: local mmpretrain VGG16 classification checkpoint whose ``fc6``/``fc7``
            (``backbone.classifier.0/3``) initialise conv6 (reshaped 25088x4096 -> 4096x512x7x7) and conv7, as FCN
            does; ``None``: random init. Nothing downloads.
        **kwargs: :class:`BaseDecodeHead` (``in_index=(0, 1, 2)``, ``input_transform='multiple_select'``,
            ``num_classes``, ``dropout_ratio=0.5``, ``loss_decode``...).

    Shapes: ``[(B, c3, H/8, W/8), (B, c4, H/16, W/16), (B, c5, H/32, W/32)]`` -> ``(B, K, H/8 * 8, W/8 * 8)``.
    """

    def __init__(self, channels: int = 4096, fc_kernel_size: int = 7,
                 skip_scales: Tuple[float, float] = (1e-4, 1e-2), upsample: str = 'fixed_bilinear',
                 geometry: str = 'paper', fc_init_from: Optional[str] = None, **kwargs) -> None:
        kwargs.setdefault('input_transform', 'multiple_select')
        kwargs.setdefault('in_index', (0, 1, 2))
        kwargs.setdefault('dropout_ratio', 0.5)
        super().__init__(channels=channels, **kwargs)
        if geometry not in ('paper', 'release'):
            raise ValueError(f"geometry must be 'paper' or 'release', got {geometry!r}")
        if geometry == 'release' and upsample == 'interp':
            raise ValueError("geometry='release' needs deconvolutions (upsample='fixed_bilinear' or 'learned')")
        self.geometry = geometry
        release = geometry == 'release'
        c3, c4, c5 = self.in_channels
        self.conv6 = nn.Conv2d(c5, channels, fc_kernel_size, padding=0 if release else fc_kernel_size // 2)
        self.conv7 = nn.Conv2d(channels, channels, 1)
        self.drop6 = nn.Dropout2d(self.dropout_ratio) if self.dropout_ratio > 0 else nn.Identity()
        self.score_pool4 = nn.Conv2d(c4, self.out_channels, 1)
        self.score_pool3 = nn.Conv2d(c3, self.out_channels, 1)
        self.skip_scales = tuple(float(s) for s in skip_scales)
        pad = 0 if release else None
        self.up2_a = _Upsample(self.out_channels, 2, upsample, pad)
        self.up2_b = _Upsample(self.out_channels, 2, upsample, pad)
        self.up8 = _Upsample(self.out_channels, 8, upsample, pad)
        self.fc_init_from = fc_init_from

    def init_weights(self) -> None:
        super().init_weights()
        if self.fc_init_from is None:
            return
        from rsseg_ext.models.utils.weight_loading import load_local_state_dict, require_local_file
        path = require_local_file(
            self.fc_init_from, 'VGG16 ImageNet checkpoint (fc6/fc7 for FCN-8s conv6/conv7)',
            'https://download.openmmlab.com/mmclassification/v0/vgg/vgg16_batch256_imagenet_20210208-db26f1a5.pth',
            config_key='model.decode_head.fc_init_from (None: random init)')
        state = load_local_state_dict(path, 'VGG16 ImageNet checkpoint')
        pairs = ((self.conv6, 'backbone.classifier.0.'), (self.conv7, 'backbone.classifier.3.'))
        with torch.no_grad():
            for conv, key in pairs:
                w, b = state.get(key + 'weight'), state.get(key + 'bias')
                if w is None or w.numel() != conv.weight.numel():
                    found = 'missing' if w is None else f'of shape {tuple(w.shape)}'
                    raise ValueError(f'{self.fc_init_from}: {key}weight is {found}, expected '
                                     f'{conv.weight.numel()} values for {tuple(conv.weight.shape)}; is it an '
                                     'mmpretrain VGG16 checkpoint with its classifier (num_classes=1000)?')
                conv.weight.copy_(w.reshape(conv.weight.shape))
                conv.bias.copy_(b)

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        pool3, pool4, pool5 = self._transform_inputs(inputs)
        h = self.drop6(F.relu(self.conv6(pool5), inplace=True))
        h = F.relu(self.conv7(h), inplace=True)
        s = self.cls_seg(h)  # dropout then score: FCN's drop7 -> score_fr
        s4 = self.score_pool4(pool4 * self.skip_scales[1])
        s3 = self.score_pool3(pool3 * self.skip_scales[0])
        if self.geometry == 'release':  # the skip scores are cropped to the upsampled map (FCN's Crop layers)
            s = self.up2_a(s)
            s = self.up2_b(s + _crop_at(s4, 5, s.shape[-2:]))
            return self.up8(s + _crop_at(s3, 9, s.shape[-2:]))
        s = _match(self.up2_a(s), s4.shape[-2:]) + s4
        s = _match(self.up2_b(s), s3.shape[-2:]) + s3
        return self.up8(s)

    def crop_logits(self, seg_logits: torch.Tensor, size) -> torch.Tensor:
        """The logits of the image of ``size`` from :meth:`forward`'s map (offset 31 in the release geometry)."""
        if self.geometry == 'release':
            return _crop_at(seg_logits, 31, size)
        return _match(seg_logits, size)

    def loss_by_feat(self, seg_logits: torch.Tensor, batch_data_samples) -> dict:
        size = batch_data_samples[0].gt_sem_seg.shape
        return super().loss_by_feat(self.crop_logits(seg_logits, size), batch_data_samples)

    def predict_by_feat(self, seg_logits: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        return super().predict_by_feat(self.crop_logits(seg_logits, batch_img_metas[0]['img_shape']), batch_img_metas)

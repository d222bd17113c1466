"""VGG whose first convolution (conv1_1) pads by more than 1 pixel: the original FCN geometry.

FCN (Long, Shelhamer, Darrell, CVPR 2015, §4.3 / the reference Caffe nets) pads conv1_1 by 100 pixels so that an
unpadded 7x7 fc6 still sees inputs of any size and the score maps of pool3/pool4/fc7 can be aligned by fixed crop
offsets (5, 9, 31 for FCN-8s). The FCtL release (``models/fcn.py`` of github.com/liqiokkk/FCtL) keeps this for
its VGG16 trunks, including the frozen context trunks. ``stem_padding=100`` together with
``FCN8sHead(geometry='release')`` reproduces it; the default ``stem_padding=1`` is mmpretrain's plain VGG. The
padding has no parameters, so the same converted weights load into both.
"""
import torch.nn as nn
from mmpretrain.models.backbones import VGG

from mmseg.registry import MODELS

__all__ = ['PaddedStemVGG']


@MODELS.register_module()
class PaddedStemVGG(VGG):
    """mmpretrain ``VGG`` (same arguments, same key layout) with conv1_1 zero-padded by ``stem_padding``.

    Args:
        stem_padding: zero padding of the first 3x3 convolution on every side (1: plain VGG; 100: FCN / the FCtL
            release). Larger padding grows every feature map: a 64 x 64 input gives pool5 ``(B, 512, 9, 9)``
            with 100 (``ceil_mode=True``), ``(B, 512, 2, 2)`` with 1.
        *args, **kwargs: :class:`mmpretrain.models.backbones.VGG` (``depth``, ``out_indices``, ``ceil_mode``...).
    """

    def __init__(self, *args, stem_padding: int = 1, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if int(stem_padding) < 0:
            raise ValueError(f'stem_padding must be >= 0, got {stem_padding}')
        self.stem_padding = int(stem_padding)
        first = next(m for m in self.modules() if isinstance(m, nn.Conv2d))
        first.padding = (self.stem_padding, self.stem_padding)

"""ConvNeXt whose pyramid outputs are the raw stage outputs (no per-stage output LayerNorm).

mmpretrain's ``ConvNeXt`` adds a LayerNorm ``norm{i}`` on every returned stage. torchvision's ``convnext_*`` has
none: the D2LS release hooks ``features[1], [3], [5], [7]`` directly. Converted D2LS release checkpoints therefore
need this backbone to compute the authors' function (``tools/model_converters/d2ls2mmseg.py``); the parameter names
are mmpretrain's, minus ``norm{i}``, so the same converted ConvNeXt weights load into both.
"""
import torch.nn as nn
from mmpretrain.models.backbones import ConvNeXt

from mmseg.registry import MODELS

__all__ = ['ConvNeXtNoOutNorm']


@MODELS.register_module()
class ConvNeXtNoOutNorm(ConvNeXt):
    """mmpretrain ``ConvNeXt`` (same arguments and key layout) with the output norms replaced by identities.

    Shapes: ``(B, 3, H, W)`` -> tuple of ``(B, C_i, H / 2^(i+2), W / 2^(i+2))`` for ``i`` in ``out_indices``
    (pooled ``(B, C_i)`` with ``gap_before_final_norm=True``).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for i in self.out_indices:
            # Identity: forward calls norm_layer(x) only; no parameters, so no keys in the state dict
            setattr(self, f'norm{i}', nn.Identity())

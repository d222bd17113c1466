"""RepViT (Wang et al., "RepViT: Revisiting Mobile CNN From ViT Perspective", CVPR 2024) as an mmseg backbone,
built from timm's ``repvit_*`` (same layers as the RepViT authors' code, regrouped into stages).

LOGCAN++'s released models (github.com/xwmaxwma/rssegmentation, ``configs/*/logcanplus.py``) use RepViT-M2.3 with
``out_indices=[7, 15, 51, 54]`` of the authors' flat ``features`` list: the map just before each stride-2 block,
i.e. after timm's ``stages[s + 1].downsample.pre_block``, and the last block. ``out_before_downsample=True``
returns those; ``False`` returns timm's stage outputs (one block earlier for stages 0-2).

Weights come from a local file only (``init_cfg=dict(type='LocalPretrained', checkpoint=...)``): timm's layout
(``stem.*``, ``stages.*``, e.g. ``repvit_m2_3.dist_450e_in1k``) or the RepViT authors' layout (``features.*``, e.g.
``repvit_m2_3_distill_450e.pth``, the file the LOGCAN++ README links); the classifier is ignored.
"""
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmseg.registry import MODELS

from ..utils.weight_conversion import KeyConverter, convert_state_dict, repvit_original_rules
from ..utils.weight_loading import load_local_state_dict, load_weights

__all__ = ['RepViT']


@MODELS.register_module()
class RepViT(BaseModule):
    """timm ``RepVit`` trunk (no classifier) returning 4 maps at strides 4, 8, 16, 32.

    Args:
        arch: timm model name (``'repvit_m2_3'``: widths 80/160/320/640, depths 6/6/34/2).
        embed_dims, depths: override the arch's widths / blocks per stage (small test models).
        out_before_downsample: tap the maps the LOGCAN++ release uses (see the module docstring).
        out_indices: which of the 4 maps to return.
        norm_eval: keep BatchNorm statistics frozen in training (the LOGCAN++ release does: its ``RepViT.train``
            puts every BatchNorm in eval mode).
        init_cfg: ``dict(type='LocalPretrained', checkpoint=PATH, source=...)`` or ``None`` (random init).

    Shapes: ``(B, 3, H, W)`` -> tuple of ``(B, C_s, H / 2^(s+2), W / 2^(s+2))``.
    """

    def __init__(self, arch: str = 'repvit_m2_3', embed_dims: Optional[Sequence[int]] = None,
                 depths: Optional[Sequence[int]] = None, out_before_downsample: bool = True,
                 out_indices: Sequence[int] = (0, 1, 2, 3), norm_eval: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        import timm  # optional dependency: only this backbone needs it
        kw = {}
        if embed_dims is not None:
            kw['embed_dim'] = tuple(embed_dims)
        if depths is not None:
            kw['depth'] = tuple(depths)
        net = timm.create_model(arch, pretrained=False, num_classes=0, **kw)
        self.stem, self.stages = net.stem, net.stages  # keys: stem.*, stages.* (timm's layout)
        self.embed_dims = tuple(net.embed_dim)
        self.out_before_downsample = out_before_downsample
        self.out_indices = tuple(out_indices)
        self.norm_eval = norm_eval

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        x = self.stem(x)
        outs: List[Tensor] = []
        for s, stage in enumerate(self.stages):
            ds = stage.downsample
            if isinstance(ds, nn.Identity):
                x = stage.blocks(x)
                continue
            if not self.out_before_downsample:
                outs.append(x)
            x = ds.pre_block(x)
            if self.out_before_downsample:
                outs.append(x)
            # the rest of timm's RepVitDownsample: stride-2 depthwise, 1x1 to the new width, residual FFN
            x = ds.channel_downsample(ds.spatial_downsample(x))
            x = x + ds.ffn(x)
            x = stage.blocks(x)
        outs.append(x)
        return tuple(outs[i] for i in self.out_indices)

    def train(self, mode: bool = True) -> 'RepViT':
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def init_weights(self) -> None:
        cfg = self.init_cfg or {}
        if cfg.get('type') not in ('LocalPretrained', 'Pretrained'):
            super().init_weights()
            return
        sd = load_local_state_dict(cfg['checkpoint'], what='RepViT weights', source=cfg.get('source'),
                                   config_key='model.backbone.init_cfg.checkpoint')
        prefix = cfg.get('prefix')
        if prefix:
            sd = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
        if any(k.startswith('features.') for k in sd):  # the RepViT authors' layout
            sd, report = convert_state_dict(sd, KeyConverter(repvit_original_rules(list(sd))), cfg['checkpoint'])
            if report.unmatched and not all(k.startswith('classifier.') for k in report.unmatched):
                print_log(f'RepViT weights: keys not used: {report.unmatched[:10]}', logger='current')
        sd = {k: v for k, v in sd.items() if not k.startswith('head')}  # ImageNet classifier
        load_weights(self, sd, strict=True, what=f'RepViT weights {cfg["checkpoint"]}')
        self._is_init = True

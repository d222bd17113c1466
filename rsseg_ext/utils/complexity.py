"""Parameter and FLOP counting shared by ``tools/analysis/get_complexity.py`` and the calibration tests.

FLOPs are counted by mmengine's ``FlopAnalyzer`` (fvcore-style: one fused multiply-add = one FLOP, i.e. what
papers call "FLOPs (MACs)"), with a handle added for ``scaled_dot_product_attention``, which mmengine does not
count on its own (attention heads would otherwise look free).
"""
from functools import reduce
from operator import mul
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer


def _shape(v) -> List[int]:
    return list(v.type().sizes())


def _sdpa_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """MACs of softmax(Q K^T) V: B·heads·Lq·Lk·(D + Dv)."""
    q, k, v = (_shape(x) for x in inputs[:3])
    batch = reduce(mul, q[:-2], 1)
    lq, d = q[-2], q[-1]
    lk, dv = k[-2], v[-1]
    return batch * lq * lk * (d + dv)


def count_params(module: nn.Module) -> Tuple[int, int]:
    """(total, trainable) parameter counts."""
    total = sum(p.numel() for p in module.parameters())
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return total, trainable


def count_flops(module: nn.Module, inputs: Tuple[Any, ...]) -> int:
    """FLOPs (MACs) of ``module(*inputs)`` in eval mode, SDPA included."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            analyzer = FlopAnalyzer(module, inputs)
            analyzer.set_op_handle('aten::scaled_dot_product_attention', _sdpa_flop_jit)
            analyzer.unsupported_ops_warnings(False)
            analyzer.uncalled_modules_warnings(False)
            return int(analyzer.total())
    finally:
        module.train(was_training)


def _get_submodule(model: nn.Module, path: str) -> nn.Module:
    try:
        return model.get_submodule(path)
    except AttributeError as e:
        names = [n for n, _ in model.named_children()]
        raise ValueError(f'--part {path!r} is not a submodule of {type(model).__name__}; '
                         f'top-level parts: {names}') from e


def model_complexity(model: nn.Module, shape: Sequence[int], part: str = 'model', in_channels: int = 3,
                     input_shape: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    """Params and FLOPs of a segmentor or one of its parts for a ``shape = (H, W)`` image.

    Args:
        model: an mmseg segmentor (``EncoderDecoder``-like) or any module.
        shape: image ``(H, W)``.
        part: ``'model'`` (backbone+neck+decode head, as mmseg's get_flops), ``'backbone'``, ``'neck'``,
            ``'decode_head'`` (fed with the backbone/neck features of the image), or any dotted submodule path,
            which then needs ``input_shape``.
        input_shape: ``(B, C, H, W)`` for a dotted submodule path.

    Returns:
        dict with ``params``, ``trainable_params``, ``flops`` and the ``part``.
    """
    h, w = int(shape[0]), int(shape[1])
    x = torch.zeros(1, in_channels, h, w)
    if part == 'model':
        target, inputs = model, (x, )
        if hasattr(model, 'extract_feat') and hasattr(model, 'decode_head'):
            # count what mmseg's EncoderDecoder._forward runs: features -> decode head logits
            class _Tensor(nn.Module):

                def __init__(self, seg):
                    super().__init__()
                    self.seg = seg

                def forward(self, img):
                    return self.seg._forward(img)

            target = _Tensor(model)
    elif part in ('backbone', 'neck', 'decode_head', 'auxiliary_head'):
        with torch.no_grad():
            model.eval()
            feats = model.backbone(x)
            if part == 'backbone':
                target, inputs = model.backbone, (x, )
            else:
                if getattr(model, 'with_neck', False):
                    neck_in = feats
                    feats = model.neck(feats)
                if part == 'neck':
                    if not getattr(model, 'with_neck', False):
                        raise ValueError('the model has no neck')
                    target, inputs = model.neck, (neck_in, )
                else:
                    target, inputs = getattr(model, part), (feats, )
    else:
        if input_shape is None:
            raise ValueError(f'--part {part!r} needs --input-shape B C H W')
        target, inputs = _get_submodule(model, part), (torch.zeros(*[int(v) for v in input_shape]), )
    total, trainable = count_params(target)
    return dict(part=part, params=total, trainable_params=trainable, flops=count_flops(target, inputs))

"""The sliding-window grid, shared by scene inference, the segmentor slide mode and the dataset converters.

Kept free of torch/mmseg imports: ``data_converters/`` load this file on its own (see data_converters/_light.py).
"""
from typing import List, Tuple, Union

IntPair = Union[int, Tuple[int, int]]


def _pair(v: IntPair) -> Tuple[int, int]:
    if isinstance(v, (tuple, list)):
        assert len(v) == 2, f'expected an int or a pair, got {v!r}'
        return int(v[0]), int(v[1])
    return int(v), int(v)


def slide_grid(height: int, width: int, crop: IntPair, stride: IntPair) -> List[Tuple[int, int, int, int]]:
    """The windows of mmseg's ``slide_inference``, in its order.

    Args:
        height, width: scene size.
        crop: window size ``h`` or ``(h, w)``.
        stride: step ``s`` or ``(sh, sw)``; ``crop - overlap``.

    Returns:
        list of ``(y1, x1, y2, x2)`` (end exclusive), row-major. Every window has the size
        ``(min(crop_h, height), min(crop_w, width))``; the last row/column is shifted back to end at the border.
        ``y1`` is non-decreasing, which is what lets :class:`StripBlender` finalise rows early.
    """
    h_crop, w_crop = _pair(crop)
    h_stride, w_stride = _pair(stride)
    if h_stride <= 0 or w_stride <= 0:
        raise ValueError(f'stride must be positive, got {(h_stride, w_stride)}')
    h_grids = max(height - h_crop + h_stride - 1, 0) // h_stride + 1
    w_grids = max(width - w_crop + w_stride - 1, 0) // w_stride + 1
    windows = []
    for h_idx in range(h_grids):
        for w_idx in range(w_grids):
            y2 = min(h_idx * h_stride + h_crop, height)
            x2 = min(w_idx * w_stride + w_crop, width)
            windows.append((max(y2 - h_crop, 0), max(x2 - w_crop, 0), y2, x2))
    return windows

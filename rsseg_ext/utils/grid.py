"""The sliding-window grid, shared by scene inference, the segmentor slide mode and the dataset converters.

Kept free of torch/mmseg imports: ``data_converters/`` load this file on its own (see data_converters/_common.py).
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


# ---------------------------------------------------------------------------------------------------------------
# ultra-high-resolution patch grid (GLNet/FCtL rule) and co-centred context windows
# ---------------------------------------------------------------------------------------------------------------
def uhr_positions(size: int, patch: int, min_overlap: int = 50, rounding: str = 'half_up') -> List[int]:
    """Patch start positions along one axis, GLNet's ``get_patch_info`` rule (used by FCtL).

    The number of patches is the smallest ``n`` with ``n * patch >= size`` and an overlap
    ``patch - (size - patch) / (n - 1) >= min_overlap``; positions are ``k * (size - patch) / (n - 1)`` rounded half
    up, so the first patch starts at 0 and the last one ends at the border. E.g. 2448 / 508 -> 6 patches, step 388,
    overlap 120 (DeepGlobe); 5000 / 508 -> 11 patches, overlap ~59 (Inria). ``size <= patch`` gives ``[0]`` (the
    caller pads the image up to one patch).

    ``rounding='half_even'`` rounds as the FCtL release's ``helper.py`` does (``int(np.round(k * step))``, ties to
    even, the last patch at ``size - patch``): the grid of the released weights. The two differ only where
    ``k * step`` is an exact half, e.g. for 1,180 of the sides 509-6000 with 508-pixel patches.
    """
    size, patch, min_overlap = int(size), int(patch), int(min_overlap)
    if patch <= 0 or not 0 <= min_overlap < patch:
        raise ValueError(f'need patch > 0 and 0 <= min_overlap < patch, got patch={patch}, min_overlap={min_overlap}')
    if rounding not in ('half_up', 'half_even'):
        raise ValueError(f"rounding must be 'half_up' or 'half_even', got {rounding!r}")
    if size <= patch:
        return [0]
    n = 2
    while n * patch < size or patch - (size - patch) / (n - 1) < min_overlap:
        n += 1
    step = (size - patch) / (n - 1)
    if rounding == 'half_even':  # Python's round() is half-to-even like np.round
        return [int(round(k * step)) for k in range(n - 1)] + [size - patch]
    return [int(k * step + 0.5) for k in range(n)]


def uhr_grid(height: int, width: int, patch: int, min_overlap: int = 50,
             rounding: str = 'half_up') -> List[Tuple[int, int, int, int]]:
    """The FCtL/GLNet patch grid as ``(y1, x1, y2, x2)`` windows, row-major like :func:`slide_grid`.

    Windows are ``patch x patch``; for a side smaller than ``patch`` the window extends past the border (the caller
    pads with the raw value 0). ``y1`` is non-decreasing, so the windows can be fed to ``StripBlender``.
    ``rounding``: see :func:`uhr_positions`.
    """
    ys = uhr_positions(height, patch, min_overlap, rounding)
    xs = uhr_positions(width, patch, min_overlap, rounding)
    return [(y, x, y + patch, x + patch) for y in ys for x in xs]


ContextSpec = Union[float, int, str]


def context_window(window: Tuple[int, int, int, int], spec: ContextSpec, height: int, width: int,
                   border: str = 'pad') -> Tuple[Tuple[int, int, int, int], Tuple[float, float, float, float]]:
    """The context window of a patch and where the patch lies inside it (FCtL paper Sec. 3.2).

    Args:
        window: the patch ``(y1, x1, y2, x2)`` in image pixels.
        spec: a scale ``lam`` (a co-centred window ``lam`` times the patch; 1.0 is the patch itself) or
            ``'global'`` (the whole image).
        height, width: image size.
        border: ``'pad'`` (the paper/code: the window may extend past the border; those pixels read as 0) or
            ``'shift'`` (clamp the window inside the image when it fits; the patch is then off-centre).

    Returns:
        ``(ctx_window, box)``: ``ctx_window = (y1, x1, y2, x2)`` in image pixels (may be negative / past the
        border with ``'pad'``) and ``box = (x1, y1, x2, y2)`` the patch in the window's normalised [0, 1]
        coordinates (what ALE crops and geometric GPE uses).
    """
    y1, x1, y2, x2 = (int(v) for v in window)
    ph, pw = y2 - y1, x2 - x1
    if spec == 'global':
        cy1, cx1, cy2, cx2 = 0, 0, int(height), int(width)
    else:
        lam = float(spec)
        if lam < 1.0:
            raise ValueError(f"context scale must be >= 1 or 'global', got {spec!r}")
        oy, ox = int(round((lam - 1) * ph / 2)), int(round((lam - 1) * pw / 2))
        cy1, cx1, cy2, cx2 = y1 - oy, x1 - ox, y2 + oy, x2 + ox
        if border == 'shift':
            if cy2 - cy1 <= height:
                dy = max(0, -cy1) - max(0, cy2 - height)
                cy1, cy2 = cy1 + dy, cy2 + dy
            if cx2 - cx1 <= width:
                dx = max(0, -cx1) - max(0, cx2 - width)
                cx1, cx2 = cx1 + dx, cx2 + dx
        elif border != 'pad':
            raise ValueError(f"border must be 'pad' or 'shift', got {border!r}")
    ch, cw = cy2 - cy1, cx2 - cx1
    box = ((x1 - cx1) / cw, (y1 - cy1) / ch, (x2 - cx1) / cw, (y2 - cy1) / ch)
    return (cy1, cx1, cy2, cx2), box

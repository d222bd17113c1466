"""Cutting a patch's context windows out of a full image (FCtL paper Sec. 3.2), shared by the training transform
(``GenerateMultiContextPatch``, uint8 numpy) and the segmentor's whole-image inference (normalised tensors).

One resampling function for both (training = test pixels): antialiased bilinear, ``F.interpolate(mode='bilinear',
antialias=True, align_corners=False)`` (PIL-like). Out-of-image pixels read as the raw value 0; at test time that
is the *normalised* value of raw 0, ``(0 - mean) / std``, because the image is already normalised. Resizing is
linear, so normalising before or after it gives the same result (up to float rounding and the uint8 rounding of
the training path).
"""
from typing import List, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from .grid import ContextSpec, context_window

__all__ = ['resize_aa', 'crop_padded', 'crop_padded_np', 'context_crops']


def resize_aa(x: torch.Tensor, size: Union[int, Tuple[int, int]]) -> torch.Tensor:
    """Antialiased bilinear resize of ``(N, C, h, w)`` float images to ``size`` (no-op at the same size)."""
    size = (size, size) if isinstance(size, int) else tuple(size)
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode='bilinear', align_corners=False, antialias=True)


def crop_padded(img: torch.Tensor, window: Tuple[int, int, int, int],
                pad_value: Union[float, torch.Tensor] = 0.0) -> torch.Tensor:
    """``img[:, y1:y2, x1:x2]`` of a ``(C, H, W)`` tensor, with pixels outside the image set to ``pad_value``.

    Args:
        img: ``(C, H, W)``.
        window: ``(y1, x1, y2, x2)``, may extend past any border.
        pad_value: a number or a ``(C,)`` tensor (per-channel, e.g. the normalised value of raw 0).

    Returns:
        ``(C, y2 - y1, x2 - x1)``; a view of ``img`` when the window lies inside it.
    """
    c, h, w = img.shape
    y1, x1, y2, x2 = window
    if y1 >= 0 and x1 >= 0 and y2 <= h and x2 <= w:
        return img[:, y1:y2, x1:x2]
    out = img.new_empty((c, y2 - y1, x2 - x1))
    out[:] = torch.as_tensor(pad_value, dtype=img.dtype, device=img.device).reshape(-1, 1, 1)
    sy1, sx1, sy2, sx2 = max(y1, 0), max(x1, 0), min(y2, h), min(x2, w)
    if sy2 > sy1 and sx2 > sx1:
        out[:, sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = img[:, sy1:sy2, sx1:sx2]
    return out


def crop_padded_np(img: np.ndarray, window: Tuple[int, int, int, int], pad_value: float = 0) -> np.ndarray:
    """Numpy version of :func:`crop_padded` for ``(H, W)`` or ``(H, W, C)`` arrays (pipelines)."""
    h, w = img.shape[:2]
    y1, x1, y2, x2 = window
    if y1 >= 0 and x1 >= 0 and y2 <= h and x2 <= w:
        return img[y1:y2, x1:x2]
    out = np.full((y2 - y1, x2 - x1) + img.shape[2:], pad_value, dtype=img.dtype)
    sy1, sx1, sy2, sx2 = max(y1, 0), max(x1, 0), min(y2, h), min(x2, w)
    if sy2 > sy1 and sx2 > sx1:
        out[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1] = img[sy1:sy2, sx1:sx2]
    return out


def context_crops(img: torch.Tensor, windows: Sequence[Tuple[int, int, int, int]], specs: Sequence[ContextSpec],
                  size: int, pad_value: Union[float, torch.Tensor] = 0.0,
                  border: str = 'pad') -> Tuple[List[torch.Tensor], torch.Tensor]:
    """Context inputs of several patches of one image.

    Args:
        img: ``(C, H, W)`` float image (normalised at test time).
        windows: patch windows ``(y1, x1, y2, x2)``.
        specs: the non-self contexts (scales > 1 or ``'global'``), in the model's order.
        size: output side ``p`` (the patch size).
        pad_value: value of out-of-image pixels (see :func:`crop_padded`).
        border: ``'pad'`` or ``'shift'`` (see :func:`rsseg_ext.utils.grid.context_window`).

    Returns:
        ``(crops, boxes)``: one ``(B, C, p, p)`` tensor per spec (``'global'`` crops are the same resized image
        repeated; the segmentor computes that one once instead), and ``boxes (B, len(specs), 4)``: the patch in
        each context's normalised ``(x1, y1, x2, y2)`` coordinates.
    """
    h, w = img.shape[-2:]
    crops, boxes = [], []
    for spec in specs:
        per_spec, per_box = [], []
        for win in windows:
            cwin, box = context_window(win, spec, h, w, border)
            per_box.append(box)
            if spec != 'global':  # resize one by one: a stack of full-size windows would be lam^2 larger
                per_spec.append(resize_aa(crop_padded(img, cwin, pad_value)[None], size))
        if spec == 'global':
            g = resize_aa(img[None], size)
            crops.append(g.expand(len(windows), -1, -1, -1))
        else:
            crops.append(torch.cat(per_spec))
        boxes.append(per_box)
    box_t = torch.tensor(boxes, dtype=torch.float32, device=img.device).permute(1, 0, 2) if specs else \
        torch.zeros((len(windows), 0, 4), device=img.device)
    return crops, box_t

"""Blending overlapping window logits: the window weights, the rolling :class:`StripBlender` and the loops built
on it (:func:`blend_windows`, :func:`blend_slide`).

Shared by the segmentors' slide modes (``BatchedSlideEncoderDecoder``, FCtL's whole-image inference) and the
scene engine (``SceneInferencer`` in ``apis/scene/``), so it lives below ``models/``: ``models`` never imports
``apis``.

* :func:`~rsseg_ext.utils.grid.slide_grid` (torch-free, re-exported here) -- the window grid of mmseg's
  ``EncoderDecoder.slide_inference`` (same windows, same order: row-major, the last row/column shifted back to end
  at the image border, a smaller window when the image is smaller than the window).
* :class:`StripBlender` -- accumulates window logits given in grid order into a rolling buffer of shape
  ``(C, window_h, W)`` (one window high, full image width) and hands back blended rows as soon as no later
  window can touch them. ``blend='mean'`` is the plain average of mmseg (bit-for-bit the same additions in the
  same order); ``blend='gaussian'`` weights every window by a separable Gaussian (sigma = 1/8 of the window side),
  so window borders carry almost no weight and no seams appear.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import torch

from rsseg_ext.utils.grid import IntPair, slide_grid

__all__ = ['slide_grid', 'window_weights', 'StripBlender', 'blend_windows', 'blend_slide', 'Window']

#: a window ``(y1, x1, y2, x2)``
Window = Tuple[int, int, int, int]


def window_weights(h: int, w: int, blend: str = 'mean', device=None,
                   dtype: torch.dtype = torch.float32) -> Optional[torch.Tensor]:
    """Per-pixel weight ``(h, w)`` of one window; ``None`` for ``blend='mean'`` (all ones).

    ``'gaussian'``: separable Gaussian centred on the window, sigma = side / 8, maximum 1. Border weights are
    ~3e-4 of the centre, so a window edge inside another window adds no visible step (no seams); pixels covered
    by a single window still get exactly that window's logits (weighted average of one term).
    """
    if blend == 'mean':
        return None
    if blend != 'gaussian':
        raise ValueError(f"blend must be 'mean' or 'gaussian', got {blend!r}")

    def g(n):
        t = torch.arange(n, dtype=torch.float64) - (n - 1) / 2
        return torch.exp(-0.5 * (t / (n / 8.0))**2)

    wgt = (g(h)[:, None] * g(w)[None, :]).clamp_min(1e-12)
    return wgt.to(device=device, dtype=dtype)


class StripBlender:
    """Blend window logits into a rolling strip and release finished rows.

    Windows must be added in grid order (non-decreasing ``y1``, as :func:`slide_grid` yields them). The buffer
    covers rows ``[origin, origin + strip_rows)`` of the full scene width, with ``origin`` the ``y1`` of the
    current grid row and ``strip_rows`` the window height. When a window of a later grid row arrives, every row
    above its ``y1`` is final (later windows start lower): those rows are divided by their weight sum and
    returned, the buffer is shifted up.

    Args:
        height, width: scene size.
        num_classes: logit channels ``C``.
        strip_rows: window height (the buffer height).
        blend: ``'mean'`` or ``'gaussian'``.
        device, dtype: buffer device and dtype.
        origin: scene row of the first window that will be added (``y1`` of its grid row; 0 for a whole run).
            A resumed run starts at the first grid row that still touches unwritten rows; rows from ``origin``
            on get exactly the additions, in the same order, as in an uninterrupted run (bit-identical).

    Attributes:
        buffer_shape: ``(C, strip_rows, W)`` of the logit accumulator.
        buffer_bytes: bytes of the accumulator and the weight-sum buffer together (the peak: both are allocated
            once and never grow).
    """

    def __init__(self, height: int, width: int, num_classes: int, strip_rows: int, blend: str = 'mean',
                 device=None, dtype: torch.dtype = torch.float32, origin: int = 0):
        self.height, self.width, self.num_classes = int(height), int(width), int(num_classes)
        self.strip_rows = int(min(strip_rows, height))
        self.blend = blend
        window_weights(1, 1, blend)  # validate the name early
        self.acc = torch.zeros((self.num_classes, self.strip_rows, self.width), device=device, dtype=dtype)
        self.wsum = torch.zeros((self.strip_rows, self.width), device=device, dtype=dtype)
        self.origin = int(origin)  # scene row of buffer row 0
        self.done = int(origin)  # scene rows already released (or never ours, when resuming)
        self._weights = {}

    @property
    def buffer_shape(self) -> Tuple[int, int, int]:
        return tuple(self.acc.shape)

    @property
    def buffer_bytes(self) -> int:
        return self.acc.numel() * self.acc.element_size() + self.wsum.numel() * self.wsum.element_size()

    def _release(self, upto: int) -> Optional[Tuple[int, torch.Tensor]]:
        """Return rows ``[origin, upto)`` blended and shift the buffer so that ``origin = upto``."""
        n = upto - self.origin
        if n <= 0:
            return None
        assert n <= self.strip_rows
        out = self.acc[:, :n] / self.wsum[:n]
        start = self.origin
        keep = self.strip_rows - n
        if keep > 0:
            # shift up; clone because the source and destination overlap
            self.acc[:, :keep] = self.acc[:, n:].clone()
            self.wsum[:keep] = self.wsum[n:].clone()
        self.acc[:, keep:] = 0
        self.wsum[keep:] = 0
        self.origin = upto
        self.done = upto
        return start, out

    def add(self, window: Tuple[int, int, int, int], logits: torch.Tensor) -> Optional[Tuple[int, torch.Tensor]]:
        """Accumulate the logits ``(C, h, w)`` of ``window = (y1, x1, y2, x2)``.

        Returns:
            ``None``, or ``(row0, rows)`` with ``rows`` the blended logits ``(C, n, W)`` of scene rows
            ``[row0, row0 + n)`` that no later window touches.
        """
        y1, x1, y2, x2 = window
        if y1 < self.origin:
            raise ValueError(f'windows must come in grid order: y1={y1} after rows up to {self.origin} were '
                             'released')
        released = None
        if y2 > self.origin + self.strip_rows:
            released = self._release(y1)
        r1, r2 = y1 - self.origin, y2 - self.origin
        wgt = None
        if self.blend != 'mean':
            key = (y2 - y1, x2 - x1)
            if key not in self._weights:
                self._weights[key] = window_weights(*key, blend=self.blend, device=self.acc.device,
                                                    dtype=self.acc.dtype)
            wgt = self._weights[key]
        logits = logits.to(self.acc.dtype)
        if wgt is None:
            self.acc[:, r1:r2, x1:x2] += logits
            self.wsum[r1:r2, x1:x2] += 1
        else:
            self.acc[:, r1:r2, x1:x2] += logits * wgt
            self.wsum[r1:r2, x1:x2] += wgt
        return released

    def add_batch(self, windows: Sequence[Tuple[int, int, int, int]],
                  logits: torch.Tensor) -> List[Tuple[int, torch.Tensor]]:
        """:meth:`add` for each window of a batch (logits ``(n, C, h, w)``); the released row blocks, in order."""
        out = []
        for win, lg in zip(windows, logits):
            rel = self.add(win, lg)
            if rel is not None:
                out.append(rel)
        return out

    def finish(self) -> Optional[Tuple[int, torch.Tensor]]:
        """Release every remaining row (call after the last window)."""
        if self.done >= self.height:
            return None
        if bool((self.wsum[:self.height - self.origin] == 0).any()):
            raise RuntimeError('some pixels were covered by no window; was every grid window added?')
        return self._release(self.height)


def blend_windows(window_logits: Callable[[List[Window]], torch.Tensor], grid: Sequence[Window], height: int,
                  width: int, batch: int = 1, blend: str = 'mean', device=None,
                  dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Blended logits ``(C, H, W)`` of one image from its windows: the loop shared by :func:`blend_slide` and
    the segmentors with their own window forward (FCtL's patch grid with contexts).

    Args:
        window_logits: ``windows -> logits (n, C, h, w)`` for up to ``batch`` windows of ``grid``.
        grid: windows ``(y1, x1, y2, x2)`` in grid order (non-decreasing ``y1``), all of one size, covering the
            image.
        height, width: image size.
        batch: windows per ``window_logits`` call.
        blend, device, dtype: as :class:`StripBlender`.
    """
    blender, rows = None, []
    for k in range(0, len(grid), batch):
        wins = grid[k:k + batch]
        logits = window_logits(wins)
        if blender is None:
            blender = StripBlender(height, width, logits.shape[1], logits.shape[-2], blend, device, dtype)
        rows += [r for _, r in blender.add_batch(wins, logits)]
    rel = blender.finish()
    if rel is not None:
        rows.append(rel[1])
    return torch.cat(rows, dim=1)


def blend_slide(forward_fn: Callable[[torch.Tensor, List[dict]], torch.Tensor], inputs: torch.Tensor,
                crop: IntPair, stride: IntPair, batch: int = 1, blend: str = 'mean',
                batch_img_metas: Optional[List[dict]] = None) -> torch.Tensor:
    """Batched slide inference on preprocessed tensors (a segmentor's ``test_cfg`` slide mode).

    Args:
        forward_fn: ``(crops (n, Cin, h, w), metas) -> logits (n, C, h, w)``, e.g. ``model.encode_decode``.
        inputs: ``(N, Cin, H, W)`` preprocessed images.
        crop, stride: as mmseg's ``test_cfg.crop_size`` / ``test_cfg.stride``.
        batch: windows per forward call.
        blend: ``'mean'`` (equals ``EncoderDecoder.slide_inference``) or ``'gaussian'``.
        batch_img_metas: the images' metas (one per image); each window gets a copy of its image's meta with
            ``img_shape`` set to the window size (mmseg's slide mode does the same, in place). Not modified.

    Returns:
        ``(N, C, H, W)`` blended logits (the full image, as mmseg's slide mode returns; the strip buffer bounds
        only the working memory).
    """
    n_img, _, height, width = inputs.shape
    grid = slide_grid(height, width, crop, stride)
    dtype = inputs.dtype if inputs.is_floating_point() else torch.float32
    outs = []
    for i in range(n_img):
        base = dict(batch_img_metas[i]) if batch_img_metas is not None else {}

        def window_logits(wins, i=i, base=base):
            crops = torch.stack([inputs[i, :, y1:y2, x1:x2] for (y1, x1, y2, x2) in wins])
            shape = crops.shape[2:]
            metas = [{**dict(ori_shape=shape, pad_shape=shape), **base, 'img_shape': shape} for _ in wins]
            return forward_fn(crops, metas)

        outs.append(blend_windows(window_logits, grid, height, width, batch, blend, inputs.device, dtype))
    return torch.stack(outs)

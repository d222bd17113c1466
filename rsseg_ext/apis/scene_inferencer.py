"""Whole-scene (GeoTIFF) inference with bounded memory.

The one window/slide engine of rsseg_ext. Three layers, each usable on its own:

* :func:`slide_grid` -- the window grid of mmseg's ``EncoderDecoder.slide_inference`` (same windows, same order:
  row-major, the last row/column shifted back to end at the scene border, a smaller window when the scene is
  smaller than the window). The grid never leaves the scene, so no padding and no boundless reads are needed.
* :class:`StripBlender` -- accumulates window logits given in grid order into a rolling buffer of shape
  ``(C, window_h, W)`` (one window high, full scene width) and hands back blended rows as soon as no later
  window can touch them. ``blend='mean'`` is the plain average of mmseg (bit-for-bit the same additions in the
  same order); ``blend='gaussian'`` weights every window by a separable Gaussian (sigma = 1/8 of the window side),
  so window borders carry almost no weight and no seams appear.
* :class:`SceneInferencer` -- reads windows of a raster with rasterio (a background thread reads the next batch
  while the model runs), pushes ``batch`` windows at a time through ``model.data_preprocessor`` and
  ``model.encode_decode`` and writes finished rows to a tiled, deflate-compressed uint8 GeoTIFF. Memory is
  bounded by the strip buffer, never by the scene: no full-scene logit array is ever allocated by
  :meth:`SceneInferencer.infer_file` (:meth:`SceneInferencer.infer_array`, meant for small in-memory scenes and
  tests, does return full logits).

Channel order: ``bands`` are given in RGB order (e.g. ``bands=(1, 2, 3)`` for an RGB GeoTIFF). mmseg's own
pipelines load images with OpenCV as BGR and configs then set ``data_preprocessor.bgr_to_rgb=True``. To feed the
model what it was trained on, a 3-band window is reversed to BGR before the preprocessor when the preprocessor
converts BGR to RGB (``reverse_channels=None`` detects this; pass True/False to force it).

Normalisation: uint8 rasters go to the preprocessor unchanged (it applies the config's mean/std). For other
dtypes (uint16 reflectance etc.) pass ``scale``: pixel values are *multiplied* by ``scale`` (a number, or one
number per band) before the preprocessor, e.g. ``scale=255 / 10000`` maps reflectance x10000 to the 0-255 range
of a model trained on 8-bit images. Without ``scale`` the raw values are used (with a warning for non-uint8).
"""
import os
import os.path as osp
import queue
import tempfile
import threading
import warnings
from contextlib import nullcontext
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

__all__ = [
    'slide_grid', 'window_weights', 'StripBlender', 'blend_slide', 'SceneInferencer', 'write_overlay_png',
    'probs_path_for', 'OUTPUT_NODATA', 'MIN_WINDOW'
]

#: value written for input nodata pixels in the label GeoTIFF (its nodata value)
OUTPUT_NODATA = 255
#: smallest accepted window side
MIN_WINDOW = 32
#: output tile size (pixels) and rows written at once
TILE = 256

IntPair = Union[int, Tuple[int, int]]


def _pair(v: IntPair) -> Tuple[int, int]:
    if isinstance(v, (tuple, list)):
        assert len(v) == 2, f'expected an int or a pair, got {v!r}'
        return int(v[0]), int(v[1])
    return int(v), int(v)


# ----------------------------------------------------------------------------------------------------------------
# grid and weights
# ----------------------------------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------------------------------
# strip blender
# ----------------------------------------------------------------------------------------------------------------
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

    def finish(self) -> Optional[Tuple[int, torch.Tensor]]:
        """Release every remaining row (call after the last window)."""
        if self.done >= self.height:
            return None
        if bool((self.wsum[:self.height - self.origin] == 0).any()):
            raise RuntimeError('some pixels were covered by no window; was every grid window added?')
        return self._release(self.height)


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
    outs = []
    for i in range(n_img):
        base = dict(batch_img_metas[i]) if batch_img_metas is not None else {}
        blender, rows = None, []
        for k in range(0, len(grid), batch):
            wins = grid[k:k + batch]
            crops = torch.stack([inputs[i, :, y1:y2, x1:x2] for (y1, x1, y2, x2) in wins])
            shape = crops.shape[2:]
            metas = [{**dict(ori_shape=shape, pad_shape=shape), **base, 'img_shape': shape} for _ in wins]
            logits = forward_fn(crops, metas)
            if blender is None:
                blender = StripBlender(height, width, logits.shape[1], logits.shape[-2], blend, inputs.device,
                                       dtype=logits.dtype if logits.is_floating_point() else torch.float32)
            for win, lg in zip(wins, logits):
                rel = blender.add(win, lg)
                if rel is not None:
                    rows.append(rel[1])
        rel = blender.finish()
        if rel is not None:
            rows.append(rel[1])
        outs.append(torch.cat(rows, dim=1))
    return torch.stack(outs)


# ----------------------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------------------
def probs_path_for(out_path: str) -> str:
    """``OUT.tif`` -> ``OUT_probs.tif`` (the per-class probability file)."""
    root, ext = osp.splitext(out_path)
    return f'{root}_probs{ext or ".tif"}'


def _open_raster(path: str):
    import rasterio
    from rasterio.errors import RasterioIOError
    if not osp.exists(path):
        raise FileNotFoundError(f'input raster {path!r} does not exist')
    if osp.isdir(path):
        raise ValueError(f'input {path!r} is a folder, not a raster file')
    try:
        return rasterio.open(path)
    except RasterioIOError as e:
        raise ValueError(f'{path!r} is not a raster file GDAL can read (expected e.g. a GeoTIFF): {e}') from None


def _check_bands(bands: Sequence[int], count: int, path: str) -> Tuple[int, ...]:
    bands = tuple(int(b) for b in bands)
    if not bands:
        raise ValueError('bands must name at least one band (1-based)')
    bad = [b for b in bands if not 1 <= b <= count]
    if bad:
        raise ValueError(f'band(s) {bad} requested but {path!r} has {count} band(s) (valid indices 1..{count}, '
                         '1-based); fix --bands')
    return bands


def _palette_from_meta(model) -> Optional[List[Tuple[int, int, int]]]:
    meta = getattr(model, 'dataset_meta', None) or {}
    pal = meta.get('palette') if isinstance(meta, dict) else None
    if pal is None:
        return None
    return [tuple(int(c) for c in p[:3]) for p in pal]


def _is_disk_full(e: BaseException) -> bool:
    return getattr(e, 'errno', None) == 28 or 'No space left' in str(e)


class _BatchReader:
    """Reads batches of windows in a background thread (one GDAL handle owned by that thread)."""

    def __init__(self, path: str, bands: Tuple[int, ...], batches: List[List[Tuple[int, int, int, int]]],
                 prefetch: int = 2):
        self.path, self.bands, self.batches = path, bands, batches
        self.q: 'queue.Queue' = queue.Queue(maxsize=max(1, prefetch))
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name='rsseg-scene-reader', daemon=True)
        self.thread.start()

    def _run(self):
        import rasterio
        from rasterio.windows import Window
        try:
            with rasterio.open(self.path) as src:
                for wins in self.batches:
                    if self._stop.is_set():
                        return
                    arr = np.stack([
                        src.read(self.bands, window=Window(x1, y1, x2 - x1, y2 - y1)) for (y1, x1, y2, x2) in wins
                    ])
                    self.q.put((wins, arr))
        except BaseException as e:  # noqa: B902  hand every failure to the consumer
            self.q.put(e)

    def __iter__(self):
        for _ in range(len(self.batches)):
            item = self.q.get()
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self):
        self._stop.set()
        while self.thread.is_alive():
            try:
                self.q.get(timeout=0.05)
            except queue.Empty:
                pass


class _RowWriter:
    """Collects finished label (and probability) rows and writes them in tile-aligned blocks of ``TILE`` rows.

    Writing whole tile rows means every compressed tile is written exactly once (no rewritten, orphaned tiles).
    """

    def __init__(self, dst, dst_probs=None):
        self.dst, self.dst_probs = dst, dst_probs
        self.row0 = 0
        self.labels: List[np.ndarray] = []
        self.probs: List[np.ndarray] = []
        self.pending = 0
        self.max_pending_rows = 0

    def add(self, labels: np.ndarray, probs: Optional[np.ndarray]):
        self.labels.append(labels)
        if probs is not None:
            self.probs.append(probs)
        self.pending += labels.shape[0]
        self.max_pending_rows = max(self.max_pending_rows, self.pending)
        if self.pending >= TILE:
            self._flush(self.pending // TILE * TILE)

    def _flush(self, n: int):
        from rasterio.windows import Window
        lab = np.concatenate(self.labels, axis=0)
        width = lab.shape[1]
        self.dst.write(lab[None, :n], window=Window(0, self.row0, width, n))
        self.labels = [lab[n:]] if n < lab.shape[0] else []
        if self.dst_probs is not None:
            pr = np.concatenate(self.probs, axis=1)
            self.dst_probs.write(pr[:, :n], window=Window(0, self.row0, width, n))
            self.probs = [pr[:, n:]] if n < pr.shape[1] else []
        self.row0 += n
        self.pending -= n

    def close(self):
        if self.pending:
            self._flush(self.pending)


# ----------------------------------------------------------------------------------------------------------------
# the inferencer
# ----------------------------------------------------------------------------------------------------------------
class SceneInferencer:
    """Sliding-window inference of a whole raster scene with any mmseg segmentor.

    Args:
        model: an ``EncoderDecoder``-like segmentor (``data_preprocessor`` + ``encode_decode``), e.g. from
            ``mmseg.apis.init_model(config, checkpoint, device)``. Put in eval mode here.
        window: window side in pixels (>= 32). Scenes smaller than the window use a smaller window (as mmseg).
        overlap: overlap of neighbouring windows (``0 <= overlap < window``); stride = ``window - overlap``.
        batch: windows per forward pass.
        blend: ``'gaussian'`` (default; weighted, no seams) or ``'mean'`` (plain average, equals mmseg's
            ``slide_inference`` with ``crop_size=window, stride=window - overlap``).
        tta: ``None`` or ``'flip'`` (average with the horizontally flipped window).
        bands: 1-based band indices, in RGB order for RGB models (see the module docstring).
        scale: multiply pixel values by this (a number or one per band) before the preprocessor; for non-uint8
            rasters. ``None``: values go to the preprocessor unchanged.
        reverse_channels: reverse a 3-band input to BGR before the preprocessor. ``None``: when the
            preprocessor converts BGR to RGB.
        precision: ``'fp32'`` (exact), ``'bf16'`` or ``'fp16'`` (autocast; faster, not equal output).
        progress: show a tqdm progress bar over windows.
        prefetch: batches read ahead by the background reader thread.

    Attributes (after a run):
        buffer_shape: ``(C, rows, W)`` of the strip accumulator; ``rows`` is at most the window height.
        peak_buffer_bytes: bytes of the strip accumulator + weight sums (allocated once, the engine's largest
            per-scene allocation; the per-batch window logits come on top).
        max_release_rows: most rows released at once by the blender.
        num_windows: windows processed.
    """

    def __init__(self, model, window: int = 1024, overlap: int = 128, batch: int = 1, blend: str = 'gaussian',
                 tta: Optional[str] = None, bands: Sequence[int] = (1, 2, 3),
                 scale: Optional[Union[float, Sequence[float]]] = None, reverse_channels: Optional[bool] = None,
                 precision: str = 'fp32', progress: bool = True, prefetch: int = 2):
        window, overlap, batch = int(window), int(overlap), int(batch)
        if window < MIN_WINDOW:
            raise ValueError(f'window must be at least {MIN_WINDOW} pixels, got {window}')
        if not 0 <= overlap < window:
            raise ValueError(f'overlap must satisfy 0 <= overlap < window ({window}), got {overlap}')
        if batch < 1:
            raise ValueError(f'batch must be >= 1, got {batch}')
        if tta not in (None, 'none', 'flip'):
            raise ValueError(f"tta must be None or 'flip', got {tta!r}")
        if precision not in ('fp32', 'bf16', 'fp16'):
            raise ValueError(f"precision must be 'fp32', 'bf16' or 'fp16', got {precision!r}")
        window_weights(1, 1, blend)
        self.model = model.eval()
        self.window, self.overlap, self.stride, self.batch = window, overlap, window - overlap, batch
        self.blend, self.tta = blend, (None if tta == 'none' else tta)
        self.bands = tuple(int(b) for b in bands)
        self.scale = scale
        self.reverse_channels = reverse_channels
        self.precision = precision
        self.progress, self.prefetch = progress, prefetch
        self.buffer_shape: Optional[Tuple[int, int, int]] = None
        self.peak_buffer_bytes = 0
        self.max_release_rows = 0
        self.num_windows = 0

    # -- model facts ------------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        try:
            return next(self.model.parameters()).device
        except StopIteration:
            return torch.device('cpu')

    def expected_channels(self) -> Optional[int]:
        """Input channels the model expects (length of the preprocessor's mean), or None if unknown."""
        mean = getattr(self.model.data_preprocessor, 'mean', None)
        return None if mean is None else int(mean.numel())

    def _reverse(self, num_bands: int) -> bool:
        if num_bands != 3:
            return False
        if self.reverse_channels is not None:
            return bool(self.reverse_channels)
        pre = self.model.data_preprocessor
        if not getattr(pre, 'channel_conversion', False):
            return False
        # SegDataPreProcessor keeps only "a conversion happens"; the config says which one (bgr_to_rgb is the
        # usual; rgb_to_bgr means the model wants BGR and an RGB input must stay as it is).
        cfg = getattr(self.model, 'cfg', None)
        try:
            pcfg = cfg.model.data_preprocessor if cfg is not None else None
        except AttributeError:
            pcfg = None
        if pcfg is not None and pcfg.get('rgb_to_bgr', False):
            return False
        return True

    def _check_channels(self, num_bands: int, what: str = ''):
        exp = self.expected_channels()
        if exp is not None and exp != num_bands:
            what = what or f'{num_bands} band(s) were selected {self.bands}'
            raise ValueError(f'the model expects {exp} input channel(s) (data_preprocessor mean has {exp} values) '
                             f'but {what}; choose {exp} bands with --bands')

    # -- forward ----------------------------------------------------------------------------------------------
    def _autocast(self):
        if self.precision == 'fp32':
            return nullcontext()
        dtype = torch.bfloat16 if self.precision == 'bf16' else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def _prepare(self, arr: np.ndarray) -> List[torch.Tensor]:
        """``(N, B, h, w)`` raw window pixels -> list of ``(B, h, w)`` tensors for the preprocessor."""
        t = torch.from_numpy(np.ascontiguousarray(arr))
        if t.dtype not in (torch.uint8, torch.float32, torch.float64, torch.int16, torch.int32, torch.int64):
            t = torch.from_numpy(arr.astype(np.float32))
        if self.scale is not None:
            s = torch.as_tensor(self.scale, dtype=torch.float32)
            if s.ndim == 1:
                if s.numel() != t.shape[1]:
                    raise ValueError(f'scale has {s.numel()} values but {t.shape[1]} bands are read')
                s = s.view(1, -1, 1, 1)
            t = t.float() * s
        if self._reverse(t.shape[1]):
            t = t.flip(1)
        return list(t)

    def forward_windows(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        """Logits ``(N, C, h, w)`` of equally sized windows ``(B, h, w)`` (raw pixels, model channel order)."""
        h, w = inputs[0].shape[-2:]
        data = self.model.data_preprocessor(dict(inputs=inputs, data_samples=None), False)
        x = data['inputs']
        ph, pw = x.shape[-2:]  # a preprocessor with test_cfg size_divisor may pad
        if self.tta == 'flip':
            x = torch.cat([x, x.flip(-1)], dim=0)
        metas = [dict(img_shape=torch.Size((ph, pw)), ori_shape=(h, w), pad_shape=(ph, pw))
                 for _ in range(x.shape[0])]
        with self._autocast():
            logits = self.model.encode_decode(x, metas)
        logits = logits.float()
        if self.tta == 'flip':
            n = len(inputs)
            logits = (logits[:n] + logits[n:].flip(-1)) / 2
        return logits[..., :h, :w]

    # -- engine -----------------------------------------------------------------------------------------------
    def _run(self, height: int, width: int, batches: Iterator, total: int, desc: str) -> Iterator:
        """Feed window batches through the model and the blender; yield ``(row0, logits (C, n, W))``."""
        blender = None
        bar = None
        if self.progress:
            try:
                from tqdm import tqdm
                bar = tqdm(total=total, unit='win', desc=desc, dynamic_ncols=True)
            except ImportError:  # pragma: no cover
                bar = None
        self.num_windows = 0
        try:
            with torch.no_grad():
                for wins, arr in batches:
                    logits = self.forward_windows(self._prepare(arr))
                    if blender is None:
                        blender = StripBlender(height, width, logits.shape[1], logits.shape[-2], self.blend,
                                               device=logits.device)
                        self.buffer_shape = blender.buffer_shape
                        self.peak_buffer_bytes = blender.buffer_bytes
                    for win, lg in zip(wins, logits):
                        rel = blender.add(win, lg)
                        if rel is not None:
                            self.max_release_rows = max(self.max_release_rows, rel[1].shape[1])
                            yield rel
                    self.num_windows += len(wins)
                    if bar is not None:
                        bar.update(len(wins))
                rel = blender.finish()
                if rel is not None:
                    self.max_release_rows = max(self.max_release_rows, rel[1].shape[1])
                    yield rel
        finally:
            if bar is not None:
                bar.close()

    def _batches_of(self, grid):
        return [grid[i:i + self.batch] for i in range(0, len(grid), self.batch)]

    def infer_array(self, img: np.ndarray) -> torch.Tensor:
        """Blended logits ``(C, H, W)`` of an in-memory image, through the same strip engine as files.

        Args:
            img: ``(B, H, W)`` array with the bands already selected, in RGB order (the ``bands`` argument is
                not used here). Meant for small scenes and tests: unlike :meth:`infer_file` the result is the
                full-scene logit array.
        """
        if img.ndim != 3:
            raise ValueError(f'expected an image of shape (bands, H, W), got {img.shape}')
        self._check_channels(img.shape[0], f'the array has {img.shape[0]} band(s)')
        height, width = img.shape[1:]
        grid = slide_grid(height, width, self.window, self.stride)
        batches = ((wins, np.stack([img[:, y1:y2, x1:x2] for (y1, x1, y2, x2) in wins]))
                   for wins in self._batches_of(grid))
        chunks = [c for _, c in self._run(height, width, batches, len(grid), 'scene')]
        return torch.cat(chunks, dim=1)

    @staticmethod
    def labels_from_logits(logits: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
        """``(C, n, W)`` -> ``(n, W)`` class indices; a single channel is a sigmoid map thresholded (as mmseg)."""
        if logits.shape[0] == 1:
            return (logits[0].sigmoid() > threshold).to(torch.uint8)
        return logits.argmax(0).to(torch.uint8)

    def infer_file(self, in_path: str, out_path: str, probs: bool = False, probs_dtype: str = 'uint8',
                   force: bool = False) -> dict:
        """Segment the raster ``in_path`` and write the label GeoTIFF ``out_path``.

        Output: one uint8 band, tiled 256x256, deflate-compressed, the input's CRS and transform; input nodata
        pixels (all selected bands masked -- nodata value, per-dataset mask or alpha) are ``255`` (the file's
        nodata); the model's ``dataset_meta['palette']`` becomes the colour table.
        With ``probs=True`` ``OUT_probs.tif`` gets one band per class: softmax probabilities (sigmoid for a
        single-channel model), ``probs_dtype='uint8'`` as ``round(255 * p)`` (nodata 0 is not set: read the
        label file for the mask) or ``'float32'`` as is (nodata pixels NaN).
        Both files are written to temporary files in the output folder and renamed at the end, so an
        interrupted run never leaves a half-written ``out_path``.

        Returns:
            dict with ``out``, ``probs`` (path or None), ``windows``, ``buffer_shape``, ``peak_buffer_bytes``.
        """
        import rasterio
        from rasterio.enums import MaskFlags
        from rasterio.windows import Window

        if probs_dtype not in ('uint8', 'float32'):
            raise ValueError(f"probs_dtype must be 'uint8' or 'float32', got {probs_dtype!r}")
        out_path = osp.abspath(out_path)
        probs_out = probs_path_for(out_path) if probs else None
        if osp.abspath(in_path) in (out_path, probs_out):
            raise ValueError(f'output {out_path!r} would overwrite the input raster')
        existing = [p for p in (out_path, probs_out) if p is not None and osp.exists(p)]
        if existing and not force:
            raise FileExistsError(f'output {" and ".join(map(repr, existing))} already exist(s); pass force=True '
                                  '(--force) to overwrite')
        out_dir = osp.dirname(out_path)
        if not osp.isdir(out_dir):
            raise FileNotFoundError(f'output folder {out_dir!r} does not exist')

        src = _open_raster(in_path)
        tmp_paths = []
        reader = None
        try:
            bands = _check_bands(self.bands, src.count, in_path)
            self._check_channels(len(bands))
            dtype = src.dtypes[bands[0] - 1]
            if dtype != 'uint8' and self.scale is None:
                warnings.warn(f'{in_path!r} is {dtype}; values go to the preprocessor unscaled. Pass scale '
                              '(--scale) if the model was trained on 8-bit images.')
            height, width = src.height, src.width
            all_valid = all(MaskFlags.all_valid in src.mask_flag_enums[b - 1] for b in bands)

            grid = slide_grid(height, width, self.window, self.stride)
            reader = _BatchReader(in_path, bands, self._batches_of(grid), self.prefetch)

            def tmp_for(path):
                fd, tmp = tempfile.mkstemp(prefix='.' + osp.basename(path) + '.', suffix='.tmp.tif', dir=out_dir)
                os.close(fd)
                tmp_paths.append(tmp)
                return tmp

            profile = dict(driver='GTiff', width=width, height=height, crs=src.crs, transform=src.transform,
                           tiled=True, blockxsize=TILE, blockysize=TILE, compress='deflate', BIGTIFF='IF_SAFER')
            tmp_out = tmp_for(out_path)
            dst = rasterio.open(tmp_out, 'w', count=1, dtype='uint8', nodata=OUTPUT_NODATA, **profile)
            dst_probs = None
            tmp_probs = None
            try:
                # the colour table goes in before any pixel (GDAL cannot change the photometric tag later)
                palette = _palette_from_meta(self.model)
                if palette is not None:
                    if len(palette) > OUTPUT_NODATA:
                        raise ValueError(f'{len(palette)} classes do not fit a uint8 map with nodata 255')
                    cmap = {i: (*c, 255) for i, c in enumerate(palette)}
                    cmap[OUTPUT_NODATA] = (0, 0, 0, 0)
                    dst.write_colormap(1, cmap)
                writer = None
                for row0, logits in self._run(height, width, reader, len(grid), osp.basename(in_path)):
                    n = logits.shape[1]
                    labels = self.labels_from_logits(logits).cpu().numpy()
                    pr = None
                    if probs:
                        p = logits.sigmoid() if logits.shape[0] == 1 else logits.softmax(0)
                        pr = p.cpu().numpy()
                        if probs_dtype == 'uint8':
                            pr = np.rint(pr * 255).astype(np.uint8)
                    if not all_valid:
                        m = src.read_masks(bands, window=Window(0, row0, width, n))
                        invalid = ~(m > 0).any(0)
                        labels[invalid] = OUTPUT_NODATA
                        if pr is not None and probs_dtype == 'float32':
                            pr[:, invalid] = np.nan
                    if writer is None:
                        if probs:
                            tmp_probs = tmp_for(probs_out)
                            dst_probs = rasterio.open(
                                tmp_probs, 'w', count=logits.shape[0], dtype=probs_dtype,
                                nodata=(np.nan if probs_dtype == 'float32' else None), **profile)
                        writer = _RowWriter(dst, dst_probs)
                    writer.add(labels, pr)
                writer.close()
                classes = (getattr(self.model, 'dataset_meta', None) or {}).get('classes')
                if dst_probs is not None and classes is not None:
                    for i, c in enumerate(list(classes)[:dst_probs.count]):
                        dst_probs.set_band_description(i + 1, str(c))
            finally:
                dst.close()
                if dst_probs is not None:
                    dst_probs.close()
            os.replace(tmp_out, out_path)
            tmp_paths.remove(tmp_out)
            if tmp_probs is not None:
                os.replace(tmp_probs, probs_out)
                tmp_paths.remove(tmp_probs)
        except (OSError, rasterio.errors.RasterioIOError) as e:
            if _is_disk_full(e):
                raise OSError(28, f'writing {out_path!r} failed: no space left on the device of {out_dir!r}; '
                              'nothing was written (temporary files removed)') from e
            raise
        finally:
            if reader is not None:
                reader.close()
            src.close()
            for t in tmp_paths:
                if osp.exists(t):
                    os.remove(t)
        return dict(out=out_path, probs=probs_out, windows=self.num_windows, buffer_shape=self.buffer_shape,
                    peak_buffer_bytes=self.peak_buffer_bytes)

    __call__ = infer_file


# ----------------------------------------------------------------------------------------------------------------
# overlay
# ----------------------------------------------------------------------------------------------------------------
def _stretch(img: np.ndarray) -> np.ndarray:
    """(B, h, w) any dtype -> uint8, per band 2-98 percentile stretch (uint8 passes through)."""
    if img.dtype == np.uint8:
        return img
    out = np.empty(img.shape, np.uint8)
    for i, b in enumerate(img.astype(np.float64)):
        lo, hi = np.nanpercentile(b, (2, 98)) if np.isfinite(b).any() else (0.0, 1.0)
        out[i] = np.clip((b - lo) / max(hi - lo, 1e-12) * 255, 0, 255).astype(np.uint8)
    return out


def write_overlay_png(pred_tif: str, image_tif: str, out_png: str, bands: Sequence[int] = (1, 2, 3),
                      alpha: float = 0.5, max_size: int = 2048,
                      palette: Optional[Sequence[Sequence[int]]] = None) -> Tuple[int, int]:
    """Write a colour overlay of a label GeoTIFF over its image as PNG (a quick look at a whole scene).

    Both rasters are read decimated (rasterio ``out_shape``) so the long side is at most ``max_size``; labels
    with nearest-neighbour, the image averaged. Colours come from ``palette`` or the label file's colour table
    (a fixed random palette otherwise); label 255 (nodata) shows the bare image. Non-uint8 images are stretched
    to 2-98 percent per band.

    Returns:
        ``(height, width)`` of the PNG.
    """
    import cv2
    import rasterio
    from rasterio.enums import Resampling

    pred = _open_raster(pred_tif)
    img = _open_raster(image_tif)
    try:
        bands = _check_bands(bands, img.count, image_tif)
        H, W = pred.height, pred.width
        f = max(H, W) / max_size
        oh, ow = (H, W) if f <= 1 else (max(1, round(H / f)), max(1, round(W / f)))
        lab = pred.read(1, out_shape=(oh, ow), resampling=Resampling.nearest)
        im = img.read(bands, out_shape=(len(bands), oh, ow), resampling=Resampling.average)
        if palette is None:
            try:
                cmap = pred.colormap(1)
                palette = [cmap.get(i, (0, 0, 0, 0))[:3] for i in range(256)]
            except ValueError:
                rng = np.random.RandomState(42)
                palette = rng.randint(0, 256, (256, 3))
    finally:
        pred.close()
        img.close()
    lut = np.zeros((256, 3), np.uint8)
    pal = np.asarray(palette, dtype=np.uint8)[:256, :3]
    lut[:len(pal)] = pal
    im = _stretch(im)
    if im.shape[0] == 1:
        im = np.repeat(im, 3, 0)
    rgb = np.transpose(im[:3], (1, 2, 0)).astype(np.float32)
    color = lut[lab].astype(np.float32)
    valid = (lab != OUTPUT_NODATA)[..., None]
    out = np.where(valid, (1 - alpha) * rgb + alpha * color, rgb)
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if not cv2.imwrite(out_png, out[..., ::-1].copy()):
        raise OSError(f'could not write {out_png!r} (does the folder exist? is the name a .png?)')
    return out.shape[0], out.shape[1]

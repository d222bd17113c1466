"""Whole-scene (GeoTIFF) inference with bounded memory.

The window grid (:func:`~rsseg_ext.utils.grid.slide_grid`, mmseg's slide windows; it never leaves the scene, so
no padding and no boundless reads are needed) and the blending
(:class:`~rsseg_ext.models.utils.blending.StripBlender`: a rolling buffer one window high that hands finished
rows back early) live below ``models/``. :class:`SceneInferencer` reads windows of a raster with rasterio (a
background thread reads the next batch while the model runs), pushes ``batch`` windows at a time through
``model.data_preprocessor`` and ``model.encode_decode`` (or the model's ``scene_window_logits``: FCtL segments
each window as one image with its patch grid and contexts) and hands finished rows to a background writer
thread (:mod:`.writer`: argmax, nodata mask, compression, writes) that fills a tiled, deflate-compressed uint8
GeoTIFF (:mod:`.raster_io`), checkpointing every 256 rows so that an interrupted run can be resumed
(:mod:`.resume`; ``resume=True``, byte-identical result). Memory is bounded by the strip buffer, never by the
scene: no full-scene logit array is ever allocated by :meth:`SceneInferencer.infer_file`
(:meth:`SceneInferencer.infer_array`, meant for small in-memory scenes and tests, does return full logits).

Channel order: ``bands`` are given in RGB order (e.g. ``bands=(1, 2, 3)`` for an RGB GeoTIFF). mmseg's own
pipelines load images with OpenCV as BGR and configs then set ``data_preprocessor.bgr_to_rgb=True``. To feed the
model what it was trained on, a 3-band window is reversed to BGR before the preprocessor when the preprocessor
converts BGR to RGB (``reverse_channels=None`` detects this; pass True/False to force it).

Normalisation: uint8 rasters go to the preprocessor unchanged (it applies the config's mean/std). For other
dtypes (uint16 reflectance etc.) pass ``scale``: pixel values are *multiplied* by ``scale`` (a number, or one
number per band) before the preprocessor, e.g. ``scale=255 / 10000`` maps reflectance x10000 to the 0-255 range
of a model trained on 8-bit images. Without ``scale`` the raw values are used (with a warning for non-uint8).
"""
import json
import os
import os.path as osp
import warnings
from contextlib import nullcontext
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmseg.structures import SegDataSample

from ...models.utils.blending import StripBlender, slide_grid, window_weights
from ...utils.fileio import OutputWriteError, describe_os_error
from .raster_io import (TILE, BatchReader, RasterWriteError, check_bands, create_outputs, open_raster,
                        palette_from_meta)
from .resume import (file_facts, finish_outputs, load_resume, new_state, partial_paths, probs_path_for,
                     remove_stale_temps)
from .writer import SceneWriter, labels_from_logits

__all__ = ['SceneInferencer', 'cpu_has_native_bf16', 'MIN_WINDOW', 'DEFAULT_WINDOW', 'DEFAULT_OVERLAP']

#: smallest accepted window side
MIN_WINDOW = 32
#: window side and overlap when neither the caller nor the model's test_cfg (scene_window/scene_overlap) set them
DEFAULT_WINDOW = 1024
DEFAULT_OVERLAP = 128


def cpu_has_native_bf16() -> Optional[bool]:
    """True/False when ``/proc/cpuinfo`` lists (or lacks) ``avx512_bf16``/``amx_bf16``; None where unknown."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    flags = set(line.split(':', 1)[1].split())
                    return bool(flags & {'avx512_bf16', 'amx_bf16'})
    except OSError:
        pass
    return None


class SceneInferencer:
    """Sliding-window inference of a whole raster scene with any mmseg segmentor.

    Args:
        model: an ``EncoderDecoder``-like segmentor (``data_preprocessor`` + ``encode_decode``), e.g. from
            ``mmseg.apis.init_model(config, checkpoint, device)``. Put in eval mode here. A model with its own
            whole-image inference (FCtL's patch grid + contexts) exposes ``scene_window_logits(inputs, metas)``:
            each window is then one image for that model and goes through it instead of ``encode_decode``.
        window: window side in pixels (>= 32). Scenes smaller than the window use a smaller window (as mmseg).
            ``None``: the model's ``test_cfg.scene_window`` (FCtL configs set the image size they were trained
            on, e.g. 2448 for DeepGlobe) or 1024.
        overlap: overlap of neighbouring windows (``0 <= overlap < window``); stride = ``window - overlap``.
            ``None``: ``test_cfg.scene_overlap`` or 128.
        batch: windows per forward pass.
        blend: ``'gaussian'`` (default; weighted, no seams) or ``'mean'`` (plain average, equals mmseg's
            ``slide_inference`` with ``crop_size=window, stride=window - overlap``).
        tta: ``None`` or ``'flip'`` (average with the horizontally flipped window).
        bands: 1-based band indices, in RGB order for RGB models (see the module docstring).
        scale: multiply pixel values by this (a number or one per band) before the preprocessor; for non-uint8
            rasters. ``None``: values go to the preprocessor unchanged.
        reverse_channels: reverse a 3-band input to BGR before the preprocessor. ``None``: when the
            preprocessor converts BGR to RGB.
        precision: ``'fp32'`` (exact: the model as it is) or the fast modes ``'bf16'`` / ``'fp16'``: autocast
            to that dtype and the model and its inputs in ``channels_last`` memory format (this converts the
            model passed in). Faster where the hardware has bf16/fp16 units (CPUs with avx512_bf16/amx, GPUs),
            slower on CPUs without them (a warning says so); logits differ slightly from fp32, never equal.
        progress: show a tqdm progress bar over windows (with ETA).
        prefetch: batches read ahead by the background reader thread.
        checkpoint: path of the model's checkpoint, recorded (path, size) in the resume sidecar so that
            ``resume=True`` refuses to continue a run made with other weights. Optional.
        gdal_cache_mb: GDAL block cache while a file is segmented (GDAL's default, 5% of the RAM, would keep the
            input's blocks around and make the process grow with the scene).

    Attributes (after a run):
        buffer_shape: ``(C, rows, W)`` of the strip accumulator; ``rows`` is at most the window height.
        peak_buffer_bytes: bytes of the strip accumulator + weight sums (allocated once, the engine's largest
            per-scene allocation; the per-batch window logits come on top).
        max_release_rows: most rows released at once by the blender.
        num_windows: windows processed (by this call; a resumed run counts only the re-run windows).
        rows_done: output rows written and checkpointed so far (after an interruption: where ``resume``
            continues).
        resumed_from: first row computed by the last :meth:`infer_file` (0 unless it resumed).
    """

    def __init__(self, model, window: Optional[int] = None, overlap: Optional[int] = None, batch: int = 1,
                 blend: str = 'gaussian',
                 tta: Optional[str] = None, bands: Sequence[int] = (1, 2, 3),
                 scale: Optional[Union[float, Sequence[float]]] = None, reverse_channels: Optional[bool] = None,
                 precision: str = 'fp32', progress: bool = True, prefetch: int = 2,
                 checkpoint: Optional[str] = None, gdal_cache_mb: int = 64):
        test_cfg = getattr(model, 'test_cfg', None) or {}
        if window is None:
            window = test_cfg.get('scene_window', None) or DEFAULT_WINDOW
        if overlap is None:
            overlap = test_cfg.get('scene_overlap', None)
            overlap = min(DEFAULT_OVERLAP, int(window) // 2) if overlap is None else overlap
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
        # a model with its own whole-image inference (FCtL) treats each window as one image
        self._window_fn = getattr(model, 'scene_window_logits', None) or model.encode_decode
        self.window, self.overlap, self.stride, self.batch = window, overlap, window - overlap, batch
        self.blend, self.tta = blend, (None if tta == 'none' else tta)
        self.bands = tuple(int(b) for b in bands)
        self.scale = scale
        self.reverse_channels = reverse_channels
        self.precision = precision
        self.progress, self.prefetch = progress, prefetch
        self.checkpoint = checkpoint
        self.gdal_cache_mb = int(gdal_cache_mb)
        self.buffer_shape: Optional[Tuple[int, int, int]] = None
        self.rows_done = 0
        self.resumed_from = 0
        self.max_pending_rows = 0
        self.peak_buffer_bytes = 0
        self.max_release_rows = 0
        self.num_windows = 0
        self.channels_last = False
        if precision != 'fp32':
            self._setup_fast_mode()

    def _setup_fast_mode(self):
        dev = self.device.type
        if dev == 'cpu' and self.precision == 'bf16':
            if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
                raise ValueError("precision='bf16' needs a CPU with bf16 support in oneDNN (AVX-512); this one "
                                 "has none: use precision='fp32'")
            if cpu_has_native_bf16() is False:
                warnings.warn("precision='bf16': this CPU has no native bf16 instructions (avx512_bf16/amx_bf16); "
                              'oneDNN emulates them and bf16 inference is usually SLOWER than fp32 here')
        elif dev == 'cpu' and self.precision == 'fp16':
            warnings.warn("precision='fp16' on CPU is rarely faster than fp32; it is meant for GPUs")
        self.model.to(memory_format=torch.channels_last)
        self.channels_last = True

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
        # data samples are needed by preprocessors that pad at test time (test_cfg size/size_divisor)
        samples = [SegDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w))) for _ in inputs]
        data = self.model.data_preprocessor(dict(inputs=inputs, data_samples=samples), False)
        x = data['inputs']
        ph, pw = x.shape[-2:]  # a preprocessor with test_cfg size_divisor may pad
        if self.tta == 'flip':
            x = torch.cat([x, x.flip(-1)], dim=0)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        metas = [dict(img_shape=torch.Size((ph, pw)), ori_shape=(h, w), pad_shape=(ph, pw))
                 for _ in range(x.shape[0])]
        with self._autocast():
            logits = self._window_fn(x, metas)
        logits = logits.float()
        if self.tta == 'flip':
            n = len(inputs)
            logits = (logits[:n] + logits[n:].flip(-1)) / 2
        return logits[..., :h, :w]

    # -- engine -----------------------------------------------------------------------------------------------
    def _run(self, height: int, width: int, batches: Iterator, total: int, desc: str, origin: int = 0,
             initial: int = 0) -> Iterator:
        """Feed window batches through the model and the blender; yield ``(row0, logits (C, n, W))``.

        ``origin``: ``y1`` of the first window (a resumed run); ``initial``: windows done before (progress bar).
        """
        blender = None
        bar = None
        if self.progress:
            try:
                from tqdm import tqdm
                bar = tqdm(total=total, initial=initial, unit='win', desc=desc, dynamic_ncols=True)
            except ImportError:  # pragma: no cover
                bar = None
        self.num_windows = 0
        try:
            with torch.no_grad():
                for wins, arr in batches:
                    logits = self.forward_windows(self._prepare(arr))
                    if blender is None:
                        blender = StripBlender(height, width, logits.shape[1], logits.shape[-2], self.blend,
                                               device=logits.device, origin=origin)
                        self.buffer_shape = blender.buffer_shape
                        self.peak_buffer_bytes = blender.buffer_bytes
                    for rel in blender.add_batch(wins, logits):
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

    #: ``(C, n, W)`` logits -> ``(n, W)`` uint8 labels (:func:`~.writer.labels_from_logits`)
    labels_from_logits = staticmethod(labels_from_logits)

    # -- resumable file output --------------------------------------------------------------------------------
    def _num_classes(self, height: int, width: int) -> int:
        n = getattr(self.model, 'out_channels', None)
        if callable(getattr(self.model, 'set_vocabulary', None)):
            n = None  # open vocabulary (RSKT-Seg): one channel per name in use, not the config's num_classes
        if n is None:
            n = getattr(getattr(self.model, 'decode_head', None), 'out_channels', None)
        if n is None:  # probe with one blank window
            h, w = min(self.window, height), min(self.window, width)
            exp = self.expected_channels() or len(self.bands)
            with torch.no_grad():
                n = self.forward_windows([torch.zeros((exp, h, w), dtype=torch.uint8)]).shape[1]
        return int(n)

    def run_settings(self, in_path: str, bands: Tuple[int, ...], probs: bool, probs_dtype: str, height: int,
                     width: int) -> dict:
        """Everything that decides the output of :meth:`infer_file`; a resume must find the same values.

        ``batch`` and the device are not part of it (resuming with a smaller batch after running out of memory
        is allowed; the result then equals the uninterrupted run within float tolerance).
        """
        ckpt = None
        if self.checkpoint is not None:
            ckpt = dict(path=osp.abspath(self.checkpoint), size=int(os.path.getsize(self.checkpoint)))
        settings = dict(
            input=file_facts(in_path), height=int(height), width=int(width), bands=list(bands),
            window=self.window, overlap=self.overlap, blend=self.blend, tta=self.tta, precision=self.precision,
            scale=self.scale, reverse_channels=self._reverse(len(bands)), probs=bool(probs),
            probs_dtype=probs_dtype if probs else None, checkpoint=ckpt,
            model=dict(type=type(self.model).__name__,
                       params=int(sum(p.numel() for p in self.model.parameters())),
                       classes=[str(c) for c in (getattr(self.model, 'dataset_meta', None) or {}).get('classes', ())]),
            tile=TILE)
        return json.loads(json.dumps(settings))  # the form it has after a round trip through the sidecar

    def infer_file(self, in_path: str, out_path: str, probs: bool = False, probs_dtype: str = 'uint8',
                   force: bool = False, resume: bool = False) -> dict:
        """Segment the raster ``in_path`` and write the label GeoTIFF ``out_path``.

        Output: one uint8 band, tiled 256x256, deflate-compressed, the input's CRS and transform; input nodata
        pixels (all selected bands masked -- nodata value, per-dataset mask or alpha) are ``255`` (the file's
        nodata); the model's ``dataset_meta['palette']`` becomes the colour table.
        With ``probs=True`` ``OUT_probs.tif`` gets one band per class: softmax probabilities (sigmoid for a
        single-channel model), ``probs_dtype='uint8'`` as ``round(255 * p)`` (nodata 0 is not set: read the
        label file for the mask) or ``'float32'`` as is (nodata pixels NaN).

        Threads: a reader thread reads the next window batches, the caller's thread runs the model and the
        blender, a writer thread turns finished rows into labels/probabilities and writes them.

        Interruptions and ``resume``: the files are written as ``.OUT.tif.partial.tif`` (and
        ``.OUT_probs.tif.partial.tif``) next to ``out_path`` and renamed at the end, so ``out_path`` is never
        half-written. After every 256 output rows the temp files are closed and fsync'd and the sidecar
        ``.OUT.tif.resume.json`` is rewritten atomically (input path/size/mtime, every output-affecting setting,
        the checkpoint's path/size, the rows done, the temp files' sizes). An interrupted run (exception,
        Ctrl-C, kill, crash) leaves both behind; ``resume=True`` checks that the sidecar matches this call
        (``ValueError`` naming the differences otherwise), cuts the temp files back to the last checkpoint and
        continues from the first grid row of windows that touches unwritten rows: the result is byte-identical
        to an uninterrupted run. Without ``resume`` a leftover temp/sidecar is replaced; with ``resume`` and no
        sidecar the run starts from the first row (with a warning).

        Write failures (full disk, file-size limit, read-only folder): GDAL does not always raise, so every
        256-row block is read back before the sidecar counts it, and the finished files are read back against
        the blocks' CRC-32s before the rename. A failure raises :class:`~rsseg_ext.utils.fileio.OutputWriteError`
        (one line: the output, the OS's reason, the fix, and whether ``resume=True`` can continue); nothing
        appears under ``out_path``.

        Returns:
            dict with ``out``, ``probs`` (path or None), ``windows``, ``buffer_shape``, ``peak_buffer_bytes``,
            ``resumed_from`` (first row computed).
        """
        import rasterio

        # GDAL's block cache defaults to 5% of the RAM and keeps every input block read until it is full, so the
        # process would grow with the scene up to that cap (measured: 259 vs 98 MB peak RSS reading an 8192²
        # scene in 512-px windows); a small cache is enough because every window is read once
        with rasterio.Env(GDAL_CACHEMAX=self.gdal_cache_mb * 2**20):
            return self._infer_file(in_path, out_path, probs, probs_dtype, force, resume)

    def _infer_file(self, in_path: str, out_path: str, probs: bool, probs_dtype: str, force: bool,
                    resume: bool) -> dict:
        from rasterio.enums import MaskFlags

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
        tmp_out, tmp_probs_any, sidecar = partial_paths(out_path)
        tmp_probs = tmp_probs_any if probs else None
        remove_stale_temps(sidecar)  # a run killed while it wrote its progress file

        src = open_raster(in_path)
        reader = writer = None
        try:
            bands = check_bands(self.bands, src.count, in_path)
            self._check_channels(len(bands))
            dtype = src.dtypes[bands[0] - 1]
            if dtype != 'uint8' and self.scale is None:
                warnings.warn(f'{in_path!r} is {dtype}; values go to the preprocessor unscaled. Pass scale '
                              '(--scale) if the model was trained on 8-bit images.')
            height, width = src.height, src.width
            all_valid = all(MaskFlags.all_valid in src.mask_flag_enums[b - 1] for b in bands)
            grid = slide_grid(height, width, self.window, self.stride)
            settings = self.run_settings(in_path, bands, probs, probs_dtype, height, width)

            if resume and osp.exists(sidecar):
                state = load_resume(sidecar, settings, out_path, tmp_out, tmp_probs)
            else:
                if resume:
                    warnings.warn(f'resume: no unfinished run of {out_path!r} to continue ({sidecar!r} does not '
                                  'exist); starting from the first row')
                for p in (sidecar, tmp_out, tmp_probs_any):  # a previous unfinished run is replaced
                    if osp.exists(p):
                        os.remove(p)
                meta = getattr(self.model, 'dataset_meta', None) or {}
                create_outputs(src, tmp_out, tmp_probs, probs_dtype, height, width, palette_from_meta(self.model),
                               meta.get('classes') if isinstance(meta, dict) else None,
                               self._num_classes(height, width) if tmp_probs is not None else None)
                state = new_state(settings, out_path, dict(labels=tmp_out, probs=tmp_probs))
            start_row = int(state['rows_done'])
            self.resumed_from = self.rows_done = start_row
            self.num_windows = 0
            writer = SceneWriter(in_path, bands, all_valid, (tmp_out, tmp_probs), sidecar, state, start_row,
                                 height, width, probs_dtype)
            if start_row == 0:
                writer.checkpoint()  # from here on an interruption leaves a resumable run
            # the first window touching an unwritten row; its grid row and all later ones are computed again
            k0 = next((i for i, g in enumerate(grid) if g[2] > start_row), len(grid))
            if k0 < len(grid):
                reader = BatchReader(in_path, bands, self._batches_of(grid[k0:]), self.prefetch)
                for rel in self._run(height, width, reader, len(grid), osp.basename(in_path), origin=grid[k0][0],
                                     initial=k0):
                    if tmp_probs is None:  # 1 byte/pixel in the writer's queue instead of C floats
                        rel = (rel[0], labels_from_logits(rel[1]))
                    writer.put(rel)
            writer.close()
            self.rows_done, self.max_pending_rows = writer.rows_done, writer.max_pending_rows
            finish_outputs(writer.state, [(tmp_out, out_path, 'labels'), (tmp_probs, probs_out, 'probs')], sidecar)
        except BaseException as e:  # noqa: B902
            if writer is not None:
                writer.abort()
                self.rows_done = writer.rows_done
            if reader is not None:
                reader.close()
                reader = None
            if not osp.exists(sidecar):  # nothing resumable: leave nothing behind
                for p in (tmp_out, tmp_probs):
                    if p is not None and osp.exists(p):
                        os.remove(p)
            failed = e.__cause__ if isinstance(e, OutputWriteError) else e
            if isinstance(e, (RasterWriteError, OutputWriteError)) or (writer is not None and e is writer.error
                                                                       and isinstance(e, OSError)):
                rerun = (f'then rerun the same command with --resume (resume=True) to continue from row '
                         f'{self.rows_done} (the rows finished so far are kept in {tmp_out})'
                         if osp.exists(sidecar) else 'then rerun (nothing was kept)')
                raise OutputWriteError(describe_os_error(out_path, failed or e, rerun)) from e
            raise
        finally:
            if reader is not None:
                reader.close()
            src.close()
        return dict(out=out_path, probs=probs_out, windows=self.num_windows, buffer_shape=self.buffer_shape,
                    peak_buffer_bytes=self.peak_buffer_bytes, resumed_from=self.resumed_from)

    __call__ = infer_file

"""Raster I/O of the scene engine: opening the input, a background window reader, creating the output
GeoTIFFs, and writes that are checked (GDAL's silent failures become exceptions with the OS's reason).

GDAL (libtiff) does not always raise when a write fails: under a file-size limit (``ulimit -f``) or on a full
disk, a block written through rasterio may only print ``_tiffWriteProc: File too large.`` and leave a file whose
tiles are missing or cut off (measured with rasterio 1.4 / GDAL 3.10: the error surfaces as an exception only
when it happens inside ``write()``, not when the block cache is flushed on ``close()``). So every block written
here is read back from a fresh handle and compared, and a failure is turned into :class:`RasterWriteError`, an
``OSError`` whose ``errno`` is the OS's own answer, found by asking it again where GDAL does not say
(:func:`rsseg_ext.utils.os_errors.os_error_of`).

A GeoTIFF updated in place (``r+``) also changes bytes near its start (the tile offset and byte-count arrays),
even for a block whose write failed; :func:`read_head` / :func:`restore_head` keep and put back those bytes so
that a file cut back to an earlier size is exactly the file it was then (see ``SceneInferencer`` resume).
"""
import base64
import os
import os.path as osp
import queue
import threading
import zlib
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ...utils.os_errors import os_error_of

__all__ = ['OUTPUT_NODATA', 'TILE', 'open_raster', 'check_bands', 'palette_from_meta', 'BatchReader',
           'create_outputs', 'RasterWriteError', 'raster_write_error', 'write_window_checked', 'verify_blocks',
           'block_crc', 'read_head', 'restore_head']

#: value written for input nodata pixels in the label GeoTIFF (its nodata value)
OUTPUT_NODATA = 255
#: output tile size (pixels) and rows written at once
TILE = 256


def open_raster(path: str):
    """The rasterio dataset of ``path``; a one-line error for a missing file, a folder or a non-raster."""
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


def check_bands(bands: Sequence[int], count: int, path: str) -> Tuple[int, ...]:
    """``bands`` (1-based) as ints, checked against the ``count`` bands of ``path``."""
    bands = tuple(int(b) for b in bands)
    if not bands:
        raise ValueError('bands must name at least one band (1-based)')
    bad = [b for b in bands if not 1 <= b <= count]
    if bad:
        raise ValueError(f'band(s) {bad} requested but {path!r} has {count} band(s) (valid indices 1..{count}, '
                         '1-based); fix --bands')
    return bands


def palette_from_meta(model) -> Optional[List[Tuple[int, int, int]]]:
    """The model's ``dataset_meta['palette']`` as RGB tuples (the label file's colour table), or None."""
    meta = getattr(model, 'dataset_meta', None) or {}
    pal = meta.get('palette') if isinstance(meta, dict) else None
    if pal is None:
        return None
    return [tuple(int(c) for c in p[:3]) for p in pal]


class BatchReader:
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


def create_outputs(src, tmp_out: str, tmp_probs: Optional[str], probs_dtype: str, height: int, width: int,
                   palette: Optional[List[Tuple[int, int, int]]], classes: Optional[Sequence[str]],
                   num_classes: Optional[int]) -> None:
    """Create the empty temp GeoTIFF(s) of a run: the input's georeferencing, tiled, deflate-compressed; the
    labels with nodata :data:`OUTPUT_NODATA` and ``palette`` as colour table; the probabilities (when
    ``tmp_probs``) with ``num_classes`` bands named by ``classes``. Raises :class:`RasterWriteError`."""
    import rasterio
    try:
        _create_outputs(src, tmp_out, tmp_probs, probs_dtype, height, width, palette, classes, num_classes)
    except (rasterio.errors.RasterioError, OSError) as e:  # e.g. a read-only folder
        raise raster_write_error(tmp_probs if tmp_probs and osp.exists(tmp_out) else tmp_out, e) from e


def _create_outputs(src, tmp_out, tmp_probs, probs_dtype, height, width, palette, classes, num_classes):
    import rasterio
    profile = dict(driver='GTiff', width=width, height=height, crs=src.crs, transform=src.transform,
                   tiled=True, blockxsize=TILE, blockysize=TILE, compress='deflate', BIGTIFF='IF_SAFER',
                   SPARSE_OK=True)
    with rasterio.open(tmp_out, 'w', count=1, dtype='uint8', nodata=OUTPUT_NODATA, **profile) as dst:
        # the colour table goes in before any pixel (GDAL cannot change the photometric tag later)
        if palette is not None:
            if len(palette) > OUTPUT_NODATA:
                raise ValueError(f'{len(palette)} classes do not fit a uint8 map with nodata 255')
            cmap = {i: (*c, 255) for i, c in enumerate(palette)}
            cmap[OUTPUT_NODATA] = (0, 0, 0, 0)
            dst.write_colormap(1, cmap)
    if tmp_probs is not None:
        with rasterio.open(tmp_probs, 'w', count=num_classes, dtype=probs_dtype,
                           nodata=(np.nan if probs_dtype == 'float32' else None), **profile) as dst:
            if classes is not None:
                for i, c in enumerate(list(classes)[:num_classes]):
                    dst.set_band_description(i + 1, str(c))


class RasterWriteError(OSError):
    """Writing (or reading back) a raster failed; ``errno`` is the OS's reason when it could be found."""


def _gdal_text(err: BaseException) -> str:
    """The exception's message and that of its cause (rasterio says 'See previous exception for details')."""
    parts = []
    while err is not None and len(parts) < 3:
        text = str(err).strip()
        if text and 'previous exception' not in text:
            parts.append(text)
        err = err.__cause__ or err.__context__
    return '; '.join(parts).replace('\n', ' ') or 'no message'


def raster_write_error(path: str, err: BaseException, nbytes: int = 1 << 20) -> RasterWriteError:
    """A :class:`RasterWriteError` for a failed write of ``path``, with the OS's errno where it has one."""
    found = os_error_of(err, path, nbytes)
    if found is not None:
        return RasterWriteError(found.errno, os.strerror(found.errno), path)
    return RasterWriteError(f'GDAL could not write {path} ({_gdal_text(err)}) and the OS gave no reason; check '
                            'free space and the file-size limit (ulimit -f)')


def block_crc(arr: np.ndarray) -> int:
    """CRC-32 of an array's bytes (C order): the record a finished file is read back against."""
    return zlib.crc32(np.ascontiguousarray(arr).view(np.uint8).reshape(-1)) & 0xFFFFFFFF


def write_window_checked(path: str, arr: np.ndarray, window) -> int:
    """Write ``arr`` ``(bands, h, w)`` into ``window`` of the existing raster ``path``, close it, read the
    window back from a new handle and compare byte for byte; returns :func:`block_crc` of ``arr``.

    Raises:
        RasterWriteError: the write failed, printed an error only, or the file does not read back as written.
    """
    import rasterio
    try:
        with rasterio.open(path, 'r+') as dst:
            dst.write(arr, window=window)
        with rasterio.open(path) as src:
            back = src.read(window=window)
    except Exception as e:  # noqa: B902  GDAL reports write failures as several exception types
        raise raster_write_error(path, e, arr.nbytes) from e
    if back.shape != arr.shape or back.tobytes() != np.ascontiguousarray(arr).tobytes():
        raise raster_write_error(path, RuntimeError('the block does not read back as written'), arr.nbytes)
    return block_crc(arr)


def verify_blocks(path: str, crcs: Sequence[int], rows: int) -> None:
    """Re-open the finished raster and check that every block of ``rows`` full-width rows reads back with the
    CRC-32 recorded when it was written (:func:`write_window_checked`). Raises :class:`RasterWriteError`."""
    import rasterio
    from rasterio.windows import Window
    try:
        with rasterio.open(path) as src:
            height, width = src.height, src.width
            starts = list(range(0, height, rows))
            if len(starts) != len(crcs):
                raise RuntimeError(f'{len(crcs)} blocks were recorded for {len(starts)} in the file')
            for i, r in enumerate(starts):
                back = src.read(window=Window(0, r, width, min(rows, height - r)))
                if block_crc(back) != int(crcs[i]):
                    raise RuntimeError(f'rows {r}..{r + back.shape[1]} do not read back as written')
    except Exception as e:  # noqa: B902
        raise RasterWriteError(f'the finished file {path} is damaged ({_gdal_text(e)})') from e


def read_head(path: str, nbytes: int) -> str:
    """The first ``nbytes`` of ``path``, compressed, as text (for a JSON progress file)."""
    with open(path, 'rb') as f:
        data = f.read(nbytes)
    return base64.b64encode(zlib.compress(data, 6)).decode('ascii')


def restore_head(path: str, text: str) -> None:
    """Write bytes kept by :func:`read_head` back over the start of ``path``."""
    data = zlib.decompress(base64.b64decode(text))
    with open(path, 'r+b') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())

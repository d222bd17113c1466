"""Raster writes that are checked: GDAL's silent failures become exceptions with the OS's reason.

GDAL (libtiff) does not always raise when a write fails: under a file-size limit (``ulimit -f``) or on a full
disk, a block written through rasterio may only print ``_tiffWriteProc: File too large.`` and leave a file whose
tiles are missing or cut off (measured with rasterio 1.4 / GDAL 3.10: the error surfaces as an exception only
when it happens inside ``write()``, not when the block cache is flushed on ``close()``). So every block written
here is read back from a fresh handle and compared, and a failure is turned into :class:`RasterWriteError`, an
``OSError`` whose ``errno`` is the OS's own answer, found by asking it again where GDAL does not say
(:func:`~rsseg_ext.utils.os_errors.os_error_of`).

A GeoTIFF updated in place (``r+``) also changes bytes near its start (the tile offset and byte-count arrays),
even for a block whose write failed; :func:`read_head` / :func:`restore_head` keep and put back those bytes so
that a file cut back to an earlier size is exactly the file it was then (see ``SceneInferencer`` resume).
"""
import base64
import os
import zlib
from typing import Sequence

import numpy as np

from .os_errors import os_error_of

__all__ = ['RasterWriteError', 'raster_write_error', 'write_window_checked', 'verify_blocks',
           'block_crc', 'read_head', 'restore_head']


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

"""Test-server submission writers (the predictions come from ``tools/test.py CONFIG CKPT --out PRED_DIR``).

* LoveDA (Codabench): a zip of flat single-channel PNGs ``<id>.png`` with labels 0..6 (background ... agricultural).
  mmseg's ``IoUMetric(format_only=True)`` writes 1..7 for ``reduce_zero_label`` datasets, which the server
  rejects; ``RSSegMetric`` writes 0..6 (``label_offset=0``) and this writer checks the range.
* UAVid: colour PNGs in the official palette, laid out as ``<seq>/Labels/<frame>.png`` inside a zip.
"""
import os
import os.path as osp
import re
import zipfile
from typing import Callable, Dict, List, Optional, Tuple

import cv2
import numpy as np

from ..utils.fileio import OutputWriteError, atomic_write, describe_os_error

UAVID_COLOURS = [(128, 0, 0), (128, 64, 128), (0, 128, 0), (128, 128, 0), (64, 0, 128), (192, 0, 192),
                 (64, 64, 0), (0, 0, 0)]  # UAVidDataset index order (clutter last)


def _read_label(path: str) -> np.ndarray:
    arr = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ValueError(f'{path} is not a readable PNG')
    if arr.ndim != 2:
        raise ValueError(f'{path} has shape {arr.shape}; expected a single-channel label PNG as written by '
                         'tools/test.py --out')
    return arr


def _check_zip(path: str) -> None:
    """Re-open the finished zip and test every member's CRC (a file cut short does not open or fails here)."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, EOFError) as e:
        raise OSError(f'the written zip does not read back ({e})') from e
    if bad is not None:
        raise OSError(f'the written zip does not read back: {bad} is damaged')


def _write_zip(zip_path: str, entries: List[Tuple[str, Callable[[], bytes]]]) -> None:
    """Write the zip to a temp file next to ``zip_path``, check it, rename it (umask's mode): ``zip_path`` is
    never a half-written upload. The OS refusing raises OutputWriteError (one line: the file and the fix)."""
    folder = osp.dirname(osp.abspath(zip_path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise OutputWriteError(describe_os_error(zip_path, e)) from e
    with atomic_write(zip_path, check=_check_zip) as f:
        with zipfile.ZipFile(f, 'w', zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries:
                zf.writestr(name, data())


def _pngs(pred_dir: str) -> List[str]:
    if not osp.isdir(pred_dir):
        raise FileNotFoundError(f'{pred_dir} does not exist: run tools/test.py CONFIG CKPT --out {pred_dir} first')
    names = sorted(f for f in os.listdir(pred_dir) if f.endswith('.png'))
    if not names:
        raise ValueError(f'{pred_dir} holds no .png predictions')
    return names


def make_loveda_submission(pred_dir: str, zip_path: str, expected: Optional[int] = 1796) -> int:
    """Zip LoveDA test predictions (``<id>.png``, values 0..6) for the server; returns the number of files."""
    names = _pngs(pred_dir)
    if expected is not None and len(names) != expected:
        raise ValueError(f'{pred_dir} holds {len(names)} predictions; the LoveDA test set has {expected} images')

    def entry(name):
        def data():
            arr = _read_label(osp.join(pred_dir, name))
            if arr.max() > 6:
                raise ValueError(f'{osp.join(pred_dir, name)} has label {int(arr.max())}; LoveDA wants 0..6 '
                                 '(RSSegMetric with label_offset=0 writes these; mmseg IoUMetric writes 1..7)')
            return cv2.imencode('.png', arr.astype(np.uint8))[1].tobytes()
        return name, data

    _write_zip(zip_path, [entry(n) for n in names])
    return len(names)


def make_uavid_submission(pred_dir: str, zip_path: str) -> int:
    """Colour UAVid predictions named ``seq<N>_<frame>.png`` into ``seq<N>/Labels/<frame>.png``; returns count."""
    names = _pngs(pred_dir)
    lut = np.zeros((256, 3), np.uint8)
    lut[:len(UAVID_COLOURS)] = np.array(UAVID_COLOURS, np.uint8)[:, ::-1]  # BGR for cv2
    entries = []
    for name in names:
        m = re.fullmatch(r'(seq\d+)_(\d+)\.png', name)
        if not m:
            raise ValueError(f'{name}: expected seq<N>_<frame>.png (whole frames from data_converters/uavid.py '
                             '--preset frames)')

        def data(name=name):
            arr = _read_label(osp.join(pred_dir, name))
            if arr.max() >= len(UAVID_COLOURS):
                raise ValueError(f'{osp.join(pred_dir, name)} has label {int(arr.max())}; UAVid has 8 classes')
            return cv2.imencode('.png', lut[arr])[1].tobytes()

        entries.append((f'{m.group(1)}/Labels/{m.group(2)}.png', data))
    _write_zip(zip_path, entries)
    return len(entries)


WRITERS: Dict[str, Callable[..., int]] = dict(loveda=make_loveda_submission, uavid=make_uavid_submission)

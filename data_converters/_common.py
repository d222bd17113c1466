"""Shared machinery of the dataset converters in ``data_converters/`` (imported as ``_common`` by the scripts,
which put their own folder on ``sys.path``).

Every converter turns the official archives into mmseg layout through the same steps, so they all behave alike:

* **atomic writes** (:mod:`fileio`): each output file is written to a hidden temp file in its folder, given the
  mode the umask asks for (0644 under umask 022) and renamed into place, so a file that exists is complete (also
  after ``kill -9``, a full disk or a file-size limit) and readable by the group sharing a data folder; leftover
  temp files of an interrupted run are removed on the next run. Files are not fsynced one by one (that made a
  Potsdam conversion about 5x slower: 6.4-8.9 s instead of 1.0-1.7 s for 1024 tiles on this project's ext4
  disk); the finished run is synced once, and an empty output (what delayed allocation leaves after a power cut)
  counts as missing when resuming;
* **resumable**: a task whose outputs all exist (non-empty; progress markers are empty by design) is skipped;
* **multi-process**: ``--nproc`` workers (``multiprocessing`` pool) that end with the converter, even when it is
  killed with ``kill -9`` (parent-death signal, and a watchdog thread where that is missing); a tqdm progress bar;
* **clear errors**: :class:`ConversionError` names the archive/member and says what to do; a worker's error
  stops the run without leaving partial files;
* **summary**: files per split against the official counts.
"""
import importlib.util
import os
import os.path as osp
import signal
import sys
import threading
import time
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from multiprocessing import Pool
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

_HERE = osp.dirname(osp.abspath(__file__))
_UTILS = osp.join(osp.dirname(_HERE), 'rsseg_ext', 'utils')  # a checkout: data_converters/ next to rsseg_ext/
if not osp.isdir(_UTILS):  # an installed wheel: rsseg_ext/.mim/data_converters/
    _UTILS = osp.join(osp.dirname(osp.dirname(_HERE)), 'utils')


def _load(name: str):
    """``rsseg_ext/utils/<name>.py`` as a stand-alone module. ``import rsseg_ext`` registers every model and so
    imports torch, mmengine and mmseg (about 5 s of start-up) that converters do not need; ``fileio.py`` (standard
    library) and ``grid.py`` (numpy) are loaded from their files instead."""
    key = f'_rsseg_ext_light_{name}'
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, osp.join(_UTILS, f'{name}.py'))
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module  # before exec: multiprocessing workers unpickle functions by module name
        spec.loader.exec_module(module)
    return sys.modules[key]


fileio = _load('fileio')  # safe writes: temp file, umask mode, rename
slide_grid = _load('grid').slide_grid  # the slide-inference window grid, shared with the models

TMP_MARK = fileio.TMP_MARK


class ConversionError(RuntimeError):
    """Bad input for a converter (wrong/missing archive, corrupt image, unexpected label value, ...)."""


def atomic_write_bytes(path: str, data: bytes, fsync: bool = False) -> None:
    """Write ``data`` to ``path`` through :func:`fileio.atomic_write_bytes` (temp file, umask mode, rename; the
    run is synced once at its end, see :func:`run_tasks`); an OS refusal becomes a one-line
    :class:`ConversionError` naming the file and the fix."""
    try:
        fileio.atomic_write_bytes(path, data, fsync=fsync)
    except fileio.OutputWriteError as e:
        raise ConversionError(str(e)) from e


def encode_png(array: np.ndarray, what: str) -> bytes:
    ok, buf = cv2.imencode('.png', array)
    if not ok:
        raise ConversionError(f'could not encode {what} as PNG')
    return buf.tobytes()


def atomic_write_png(path: str, array: np.ndarray) -> None:
    """Write ``array`` (H, W) or (H, W, 3 BGR) as PNG, atomically."""
    atomic_write_bytes(path, encode_png(array, path))


def decode_image(data: bytes, where: str, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), flags) if data else None
    if arr is None:
        raise ConversionError(f'corrupt or unreadable image: {where}. Re-download the archive '
                              '(its checksum is on the dataset page).')
    return arr


def remove_stale_temps(root: str) -> int:
    """Delete temp files left by an interrupted run under ``root``; returns how many."""
    n = 0
    for dirpath, _, files in os.walk(root):
        for f in files:
            if TMP_MARK in f:
                os.remove(osp.join(dirpath, f))
                n += 1
    return n


def open_zip(path: str, dataset: str, url: str) -> zipfile.ZipFile:
    if not osp.isfile(path):
        raise ConversionError(f'{path} not found. Download it from {url} and pass the folder holding the '
                              f'{dataset} archives as they are (do not extract them).')
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise ConversionError(f'{path} is not a valid zip archive ({e}); the download is probably '
                              f'incomplete: download it again from {url}') from e


# A task: (callable, args, outputs[, units]). The call writes ``outputs`` and returns (split, units converted);
# args[0] is the split. A task whose outputs all exist is skipped and counts ``units`` (default 1) for its split.
Task = tuple

_worker_cache: Dict[str, zipfile.ZipFile] = {}


def worker_zip(path: str) -> zipfile.ZipFile:
    """One open ZipFile per process and archive (zip handles must not cross fork boundaries mid-read)."""
    zf = _worker_cache.get(path)
    if zf is None:
        zf = _worker_cache[path] = zipfile.ZipFile(path)
    return zf


def start_run(out_dir: str) -> int:
    """Before converting into ``out_dir``: delete the temp files an interrupted run left there (and say how many)
    and close the archive handles an earlier run in this process left open (they may be stale). Returns the number
    of files removed."""
    stale = remove_stale_temps(out_dir) if osp.isdir(out_dir) else 0
    if stale:
        print(f'removed {stale} partial file(s) left by an interrupted run')
    for zf in _worker_cache.values():
        zf.close()
    _worker_cache.clear()
    return stale


def _call(task):
    return task[0](*task[1])


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.2)
        if os.getppid() != parent:
            os._exit(1)


def _die_with_parent(parent: int) -> None:
    """Pool initializer: end this worker as soon as the converter process is gone. A ``kill -9`` of the converter
    gives the pool no chance to stop its workers, which would go on writing their queued tiles."""
    try:  # Linux: the kernel sends SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG = 1)
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError, TypeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    # elsewhere (and as a second guard): a thread notices the re-parenting
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name='rsseg-parent-watch').start()


def _done(path: str) -> bool:
    """An output counts as written when it exists and is not empty (a power cut can leave renamed but empty
    files); progress markers (``*.done``) are empty by design."""
    try:
        return osp.getsize(path) > 0 or path.endswith('.done')
    except OSError:
        return False


def run_tasks(tasks: List[Task], nproc: int = 1, desc: str = 'converting') -> Dict[str, int]:
    """Run the tasks whose outputs are missing; returns items per split (skipped ones counted too). The written
    files are synced to disk once, when all tasks are done."""
    counts: Dict[str, int] = {}
    todo = []
    for task in tasks:
        outputs = task[2]
        if outputs and all(_done(p) for p in outputs):
            split = task[1][0]
            counts[split] = counts.get(split, 0) + (task[3] if len(task) > 3 else 1)
        else:
            todo.append(task)
    skipped = len(tasks) - len(todo)
    if skipped:
        print(f'{desc}: {skipped} of {len(tasks)} items already converted (skipped)')
    bar = tqdm(total=len(todo), desc=desc, unit='img', file=sys.stdout, disable=not todo)
    try:
        if nproc > 1 and len(todo) > 1:
            _worker_cache.clear()  # handles opened in this process must not be shared by the workers
            with Pool(nproc, initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
                for split, n in pool.imap_unordered(_call, todo, chunksize=4):
                    counts[split] = counts.get(split, 0) + n
                    bar.update()
        else:
            for task in todo:
                split, n = _call(task)
                counts[split] = counts.get(split, 0) + n
                bar.update()
    finally:
        bar.close()
    if todo and hasattr(os, 'sync'):
        os.sync()  # one flush for the whole run instead of an fsync per tile
    return counts


def print_summary(counts: Dict[str, int], expected: Optional[Dict[str, int]] = None, out: str = '') -> bool:
    """Print files per split against the official counts; returns True when every count matches."""
    expected = expected or {}
    ok = True
    print(f'\nSummary{" for " + out if out else ""}:')
    print(f'  {"split":12s} {"written":>8s} {"expected":>9s}')
    for split in sorted(set(counts) | set(expected)):
        got, want = counts.get(split, 0), expected.get(split)
        mark = '' if want is None else ('ok' if got == want else 'MISMATCH')
        ok &= want is None or got == want
        print(f'  {split:12s} {got:8d} {"-" if want is None else want:>9} {mark}')
    return ok


def write_split_list(path: str, names: Iterable[str]) -> None:
    atomic_write_bytes(path, ''.join(f'{n}\n' for n in sorted(names)).encode(), fsync=True)  # after the run's sync


# ---------------------------------------------------------------------------------------------------------------
# large tiles (ISPRS-style): colour labels -> indices, cut into windows
# ---------------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _colour_lut(palette_items: Tuple[Tuple[Tuple[int, int, int], int], ...]) -> np.ndarray:
    """24-bit colour code -> index (65535 = not in the palette); 32 MiB, built once per palette."""
    lut = np.full(1 << 24, 0xFFFF, np.uint16)
    for (r, g, b), v in palette_items:
        lut[(r << 16) | (g << 8) | b] = v
    return lut


@lru_cache(maxsize=8)
def _slot_luts(palette_items: Tuple[Tuple[Tuple[int, int, int], int], ...]):
    """Small tables for palettes whose colours use few distinct values per channel (ISPRS, iSAID, UAVid, ...).

    Each channel value maps to its slot among the palette's values of that channel (one extra slot for values no
    palette colour has), pre-multiplied so that the three slots add up to a code < 256; a 256-entry table maps the
    code to the class index or to ``unknown``, a byte no palette colour maps to. Returns None when the codes do not
    fit in a byte (then the 24-bit table is used).
    """
    values = [sorted({colour[c] for colour, _ in palette_items}) for c in range(3)]
    sizes = [len(v) + 1 for v in values]
    used = {int(v) for _, v in palette_items}
    if sizes[0] * sizes[1] * sizes[2] > 256 or not all(0 <= v < 256 for v in used) or len(used) == 256:
        return None
    mult = (sizes[1] * sizes[2], sizes[2], 1)
    channel_luts = []
    for c in range(3):
        slot = np.full(256, len(values[c]), np.int64)
        slot[values[c]] = np.arange(len(values[c]))
        channel_luts.append((slot * mult[c]).astype(np.uint8))
    unknown = max(set(range(256)) - used)
    final = np.full(256, unknown, np.uint8)
    for colour, v in palette_items:
        final[sum(values[c].index(colour[c]) * mult[c] for c in range(3))] = v
    return channel_luts, final, unknown


def snap_to_corners(label: np.ndarray, margin: int, where: str) -> np.ndarray:
    """Snap every channel of an (H, W, 3) uint8 colour label to 0 or 255, for palettes made of RGB-cube corners
    (ISPRS) whose official files are not all exact: Potsdam's ``top_potsdam_4_12_label.tif`` is a lossy
    re-encode (e.g. (9, 222, 221) for cyan) and ``top_potsdam_6_7_label.tif`` codes cars (252, 255, 0). A channel
    within ``margin`` of mid-grey (128 - margin .. 127 + margin) is no colour of such a palette: an error naming
    the pixel (an image or a damaged file taken for a label stops here instead of turning into classes)."""
    ambiguous = np.zeros(label.shape[:2], bool)
    for c in range(3):
        ambiguous |= (label[..., c] >= 128 - margin) & (label[..., c] <= 127 + margin)
    if ambiguous.any():
        ys, xs = ambiguous.nonzero()
        colour = tuple(int(v) for v in label[ys[0], xs[0]])
        raise ConversionError(f'{where}: colour {colour} at (row {ys[0]}, col {xs[0]}) is not in the dataset '
                              f'palette, nor within {127 - margin} of one of its colours per channel '
                              f'({int(ambiguous.sum())} pixel(s) in all); the label file is not the official one '
                              'or is damaged')
    return np.where(label > 127, np.uint8(255), np.uint8(0))


def rgb_to_index(label: np.ndarray, palette: Dict[Tuple[int, int, int], int], where: str,
                 snap_margin: int = 0) -> np.ndarray:
    """(H, W, 3) RGB colour label -> (H, W) uint8 indices; a colour not in ``palette`` is an error naming it.
    ``snap_margin > 0`` (palettes of RGB-cube corners): off-palette pixels are snapped by
    :func:`snap_to_corners` instead, if every channel is further than ``snap_margin`` from mid-grey."""
    try:
        return _rgb_to_index(label, palette, where)
    except ConversionError:
        if not snap_margin or label.dtype != np.uint8:
            raise
    snapped = snap_to_corners(label, snap_margin, where)
    out = _rgb_to_index(snapped, palette, where)
    off = int((snapped != label).any(-1).sum())
    print(f'warning: {where}: {off} pixel(s) off the palette snapped to the nearest palette colour (the official '
          'file is not exactly colour-coded)', file=sys.stderr)
    return out


def _rgb_to_index(label: np.ndarray, palette: Dict[Tuple[int, int, int], int], where: str) -> np.ndarray:
    items = tuple(sorted(palette.items()))
    small = _slot_luts(items) if label.dtype == np.uint8 else None
    if small is not None:
        # three byte lookups and two adds, all in cv2 (multi-threaded, GIL released, no 32-bit temporaries):
        # 0.14 s instead of 0.5-0.8 s with the 24-bit table on a 6000x6000 label
        channel_luts, final, unknown_value = small
        code = None
        for c in range(3):
            slot = cv2.LUT(label[..., c], channel_luts[c])  # the bands of a rasterio read are contiguous planes
            code = slot if code is None else cv2.add(code, slot)
        out = cv2.LUT(code, final)
        unknown = out == unknown_value
    else:
        code = (label[..., 0].astype(np.uint32) << 16) | (label[..., 1].astype(np.uint32) << 8) | label[..., 2]
        out = _colour_lut(items)[code]
        unknown = out == 0xFFFF
    if unknown.any():
        ys, xs = unknown.nonzero()
        colour = tuple(int(v) for v in label[ys[0], xs[0]])
        raise ConversionError(f'{where}: colour {colour} at (row {ys[0]}, col {xs[0]}) is not in the dataset '
                              f'palette {sorted(palette)} ({int(unknown.sum())} pixel(s) in all); the label file '
                              'is not the official one or is damaged (lossy re-encoding changes colours)')
    return out.astype(np.uint8, copy=False)


def _with_raster(src: str, where: str, fn):
    """Open ``src`` (``zip://archive!member`` or a path) with rasterio and return ``fn(dataset)``."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', NotGeoreferencedWarning)  # label rasters often carry no georeference
            with rasterio.open(src) as ds:
                return fn(ds)
    except RasterioIOError as e:
        raise ConversionError(f'corrupt or unreadable raster: {where} ({e}). Re-download the archive.') from e


def read_raster(src: str, where: str) -> np.ndarray:
    """Read a whole raster as (H, W, C) uint8."""
    arr = _with_raster(src, where, lambda ds: ds.read())
    if arr.dtype != np.uint8:
        raise ConversionError(f'{where}: expected 8-bit bands, got {arr.dtype}')
    return arr.transpose(1, 2, 0)


def raster_size(src: str, where: str) -> Tuple[int, int]:
    return _with_raster(src, where, lambda ds: (ds.height, ds.width))


def tile_names(prefix: str, boxes: Sequence[Tuple[int, int, int, int]]) -> List[str]:
    return [f'{prefix}_{y1}_{x1}' for (y1, x1, _, _) in boxes]


def convert_tile_pair(split: str, img_src: str, lab_src: Optional[str], palette: Dict[Tuple[int, int, int], int],
                      boxes: Sequence[Tuple[int, int, int, int]], out_img_dir: str, out_ann_dir: str,
                      prefix: str, bands: Optional[Sequence[int]] = None, threads: int = 1, snap_margin: int = 0):
    """Cut one large image (and its colour label) into ``boxes`` and write PNG tiles; returns (split, tiles).
    ``snap_margin``: see :func:`rgb_to_index`."""
    def read_label():
        return None if lab_src is None else rgb_to_index(read_raster(lab_src, lab_src)[..., :3], palette, lab_src,
                                                         snap_margin)

    if threads > 1:  # GDAL reads and the colour lookup release the GIL: do the label while the image is read
        with ThreadPoolExecutor(2) as pool:
            lab_future = pool.submit(read_label)
            img = read_raster(img_src, img_src)
            lab = lab_future.result()
    else:
        img, lab = read_raster(img_src, img_src), read_label()
    # one pass to pixel-interleaved BGR (the band order cv2.imencode wants; the raster's bands are separate
    # planes) instead of a strided copy per tile: tiles below are views, encoded without a copy
    channels = [b - 1 for b in bands] if bands is not None else list(range(img.shape[2]))
    img = cv2.merge([img[..., c] for c in reversed(channels)])
    if lab is not None and lab.shape[:2] != img.shape[:2]:
        raise ConversionError(f'image {img_src} is {img.shape[1]}x{img.shape[0]} but its label {lab_src} is '
                              f'{lab.shape[1]}x{lab.shape[0]}')

    def write(item):
        name, (y1, x1, y2, x2) = item
        if lab is not None:
            atomic_write_png(osp.join(out_ann_dir, f'{name}.png'), lab[y1:y2, x1:x2])
        atomic_write_png(osp.join(out_img_dir, f'{name}.png'), img[y1:y2, x1:x2])

    items = list(zip(tile_names(prefix, boxes), boxes))
    if threads > 1:  # PNG encoding releases the GIL: threads share the decoded tile instead of re-reading it
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(write, items))
    else:
        for item in items:
            write(item)
    return split, len(boxes)

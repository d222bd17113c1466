"""Shared machinery of the dataset converters in ``data_converters/``.

Every converter turns the official archives into mmseg layout through the same steps, so they all behave alike:

* **atomic writes**: each output file is written to a hidden temp file in its folder and renamed into place, so
  a file that exists is complete; leftover temp files of an interrupted run are removed on the next run;
* **resumable**: a task whose outputs all exist is skipped;
* **multi-process**: ``--nproc`` workers (``multiprocessing`` pool), a tqdm progress bar;
* **clear errors**: :class:`ConversionError` names the archive/member and says what to do; a worker's error
  stops the run without leaving partial files;
* **summary**: files per split against the official counts.
"""
import os
import os.path as osp
import sys
import tempfile
import zipfile
from multiprocessing import Pool
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

TMP_MARK = '.rsseg-tmp-'


class ConversionError(RuntimeError):
    """Bad input for a converter (wrong/missing archive, corrupt image, unexpected label value, ...)."""


def atomic_write_bytes(path: str, data: bytes) -> None:
    folder, name = osp.split(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{name}{TMP_MARK}')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        if osp.exists(tmp):
            os.remove(tmp)
        raise ConversionError(f'could not write {path}: {e.strerror or e} '
                              '(check free disk space and write permission of the output folder)') from e


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


# A task: (callable, args, outputs). The call writes ``outputs`` and returns (split, items converted); args[0] is
# the split. A task whose outputs all exist counts as one converted item of its split and is skipped.
Task = Tuple[Callable, tuple, Sequence[str]]

_worker_cache: Dict[str, zipfile.ZipFile] = {}


def worker_zip(path: str) -> zipfile.ZipFile:
    """One open ZipFile per process and archive (zip handles must not cross fork boundaries mid-read)."""
    zf = _worker_cache.get(path)
    if zf is None:
        zf = _worker_cache[path] = zipfile.ZipFile(path)
    return zf


def _call(task):
    fn, args, _ = task
    return fn(*args)


def run_tasks(tasks: List[Task], nproc: int = 1, desc: str = 'converting') -> Dict[str, int]:
    """Run the tasks whose outputs are missing; returns items per split (skipped ones counted too)."""
    counts: Dict[str, int] = {}
    todo = []
    for task in tasks:
        outputs = task[2]
        if outputs and all(osp.isfile(p) for p in outputs):
            split = task[1][0]
            counts[split] = counts.get(split, 0) + 1
        else:
            todo.append(task)
    skipped = len(tasks) - len(todo)
    if skipped:
        print(f'{desc}: {skipped} of {len(tasks)} items already converted (skipped)')
    bar = tqdm(total=len(todo), desc=desc, unit='img', file=sys.stdout, disable=not todo)
    try:
        if nproc > 1 and len(todo) > 1:
            _worker_cache.clear()  # handles opened in this process must not be shared by the workers
            with Pool(nproc) as pool:
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
    atomic_write_bytes(path, ''.join(f'{n}\n' for n in sorted(names)).encode())

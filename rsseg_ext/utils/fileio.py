"""Writing output files safely: temp file in the target folder, checked, fsynced, renamed; modes from the umask.

Every file rsseg_ext writes (converted tiles, split lists, scene rasters, checkpoints, submissions, sidecars) goes
through :func:`commit`, so that

* a file that exists under its final name is complete: an interrupted or refused write (disk full, file-size
  limit, read-only folder, ``kill -9``) leaves at most a hidden temp file (``TMP_MARK`` in its name), never a
  half-written file under the final name, and an existing file is only replaced by a complete one;
* the OS saying no becomes one :class:`OutputWriteError` line naming the file and the fix;
* files get the mode the user's umask asks for (``mkstemp`` alone would leave them 0600, unreadable by the group
  that shares a data folder).

Standard library only: ``data_converters/_common.py`` loads this file without importing the package.
"""
import errno
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

TMP_MARK = '.rsseg-tmp-'

_FIXES = {
    errno.ENOSPC: 'disk full: free space',
    errno.EDQUOT: 'disk quota exceeded: free space or raise the quota',
    errno.EFBIG: 'file too large (file-size limit, see ulimit -f): raise the limit or write elsewhere',
    errno.EACCES: 'permission denied: choose a folder you can write to',
    errno.EPERM: 'operation not permitted: choose a folder you can write to',
    errno.EROFS: 'read-only file system: choose a writable folder',
    errno.ENOENT: 'the folder does not exist: create it or fix the path',
    errno.EIO: 'input/output error from the device: check the disk',
}


class OutputWriteError(RuntimeError):
    """Writing an output failed; the message is one line naming the file and the fix."""


def _umask() -> int:
    """The process umask, read without changing it where /proc allows (os.umask() is a global set+reset)."""
    try:
        with open('/proc/self/status', encoding='ascii') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def output_mode(executable: bool = False) -> int:
    """The mode a newly created file gets under the current umask (0o644 under umask 022)."""
    return (0o777 if executable else 0o666) & ~_umask()


def describe_os_error(path: str, err: BaseException, rerun: str = 'then rerun') -> str:
    """One line: which file, what the OS said, what to do."""
    code = getattr(err, 'errno', None)
    fix = _FIXES.get(code)
    what = getattr(err, 'strerror', None) or str(err) or type(err).__name__
    if fix is None:
        return f'could not write {path}: {what}; check the output folder, {rerun}'
    return f'could not write {path}: {fix}, {rerun}'


def temp_path(path: str) -> str:
    """A new, empty hidden temp file next to ``path`` (same folder, so the final rename is atomic); returns its
    path. The name keeps ``path``'s extension, so format drivers that go by extension (GDAL) see the same one."""
    folder, name = osp.split(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    stem, ext = osp.splitext(name)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{stem}{TMP_MARK}', suffix=ext)
    os.close(fd)
    return tmp


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(tmp: str, path: str, check: Optional[Callable[[str], None]] = None, fsync: bool = True) -> None:
    """Make the finished temp file ``tmp`` the file ``path``.

    ``check(tmp)`` may verify the content (re-open a raster and read it back, ...) and raise to reject it. The
    file is fsynced, given :func:`output_mode` and renamed over ``path``. On any failure ``tmp`` is removed;
    an ``OSError`` is re-raised as :class:`OutputWriteError` with a one-line message.
    """
    try:
        if check is not None:
            check(tmp)
        if fsync:
            _fsync_file(tmp)
        os.chmod(tmp, output_mode())
        os.replace(tmp, path)
    except OSError as e:
        _remove_quietly(tmp)
        raise OutputWriteError(describe_os_error(path, e)) from e
    except BaseException:
        _remove_quietly(tmp)
        raise
    if fsync:  # the rename itself survives a power cut only once the folder is synced
        try:
            dfd = os.open(osp.dirname(osp.abspath(path)), os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass  # some file systems cannot fsync a folder; the file itself is synced


@contextmanager
def atomic_write(path: str, mode: str = 'wb', check: Optional[Callable[[str], None]] = None,
                 encoding: Optional[str] = None, fsync: bool = True) -> Iterator:
    """``with atomic_write(path) as f: f.write(...)``: ``path`` appears only complete (see :func:`commit`)."""
    if 'w' not in mode:
        raise ValueError(f'atomic_write needs a write mode, got {mode!r}')
    try:
        tmp = temp_path(path)
    except OSError as e:
        raise OutputWriteError(describe_os_error(path, e)) from e
    try:
        with open(tmp, mode, encoding=encoding) as f:
            yield f
    except OSError as e:
        _remove_quietly(tmp)
        raise OutputWriteError(describe_os_error(path, e)) from e
    except BaseException:
        _remove_quietly(tmp)
        raise
    commit(tmp, path, check=check, fsync=fsync)


def atomic_write_bytes(path: str, data: bytes, fsync: bool = True) -> None:
    with atomic_write(path, 'wb', fsync=fsync) as f:
        f.write(data)


def atomic_write_text(path: str, text: str, fsync: bool = True) -> None:
    with atomic_write(path, 'w', encoding='utf-8', fsync=fsync) as f:
        f.write(text)

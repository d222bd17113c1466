"""Finding the OS's reason behind a failed write, when the library that wrote says something vaguer.

``torch.save`` reports a refused write as ``RuntimeError: [enforce fail at inline_container.cc] unexpected pos``
(the ``OSError`` of the file object is only its ``__context__``); GDAL/libtiff may print ``File too large`` and
raise nothing, or a ``RasterioIOError`` without ``errno``. :func:`os_error_of` finds the ``OSError`` in the
exception chain or, failing that, asks the OS again by growing the file (:func:`probe_errno`), so that
:func:`rsseg_ext.utils.fileio.describe_os_error` can name the cause and the fix.

Standard library only.
"""
import errno
import os
from typing import Optional

__all__ = ['probe_errno', 'os_error_of']


def probe_errno(path: str, nbytes: int = 1 << 20) -> Optional[int]:
    """Ask the OS whether the file ``path`` can grow by ``nbytes``; the errno of its refusal (EFBIG file-size
    limit, ENOSPC disk full, EACCES/EROFS not writable, ...) or None. An existing file is cut back to its size
    afterwards (only probe a file whose write already failed); a missing one is created and removed again."""
    created = False
    try:
        if os.path.exists(path):
            fd = os.open(path, os.O_WRONLY)
        else:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            created = True
    except OSError as e:
        return e.errno
    size = None
    try:
        size = os.fstat(fd).st_size
        try:
            os.posix_fallocate(fd, size, max(1, int(nbytes)))
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                return e.errno
            os.lseek(fd, size, os.SEEK_SET)  # no fallocate on this file system: write the bytes
            os.write(fd, b'\0' * max(1, min(int(nbytes), 1 << 20)))
        return None
    except OSError as e:
        return e.errno
    finally:
        if size is not None and not created:
            try:
                os.ftruncate(fd, size)
            except OSError:
                pass
        os.close(fd)
        if created:
            os.remove(path)


def os_error_of(err: BaseException, path: Optional[str] = None, nbytes: int = 1 << 20) -> Optional[OSError]:
    """The ``OSError`` with an errno behind ``err`` (itself or in its cause/context chain), else one built from
    :func:`probe_errno` of ``path``; None when the OS gives no reason."""
    seen, e = set(), err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno:
            return e
        e = e.__cause__ or e.__context__
    code = probe_errno(path, nbytes) if path else None
    return OSError(code, os.strerror(code), path) if code else None

"""Tell what a file that should be a checkpoint really is, before anything unpickles it.

``torch.load`` answers an empty file with a bare ``EOFError``, an HTML error page with "invalid load key '<'",
and a cut-short download with a zip-reader message that names no file. :func:`checkpoint_file_problem` reads
the first bytes (and, for zip files, the central directory) and returns one sentence saying what is wrong, or
``None`` for a file that looks like a PyTorch checkpoint (zip format of ``torch.save``, the legacy pickle format,
safetensors, TorchScript). Standard library only.
"""
import os
import zipfile
from typing import Optional

_ZIP_MAGIC = b'PK\x03\x04'
_PICKLE_PROTO = b'\x80'  # pickle protocol >= 2: the legacy (pre-1.6) torch.save format starts with one


def _looks_like_text_page(head: bytes) -> Optional[str]:
    text = head.lstrip().lower()
    if text.startswith((b'<!doctype html', b'<html', b'<head', b'<?xml')) or b'<html' in text[:512]:
        return 'an HTML/XML page (a login, quota or error page was saved instead of the file)'
    if text.startswith((b'{', b'[')):
        return 'a JSON/text document'
    if text.startswith(b'version https://git-lfs'):
        return 'a Git LFS pointer (the weights were never fetched: run git lfs pull)'
    return None


def checkpoint_file_problem(path: str) -> Optional[str]:
    """``None`` when ``path`` looks like a complete weights file, else what it is instead (one phrase)."""
    size = os.path.getsize(path)
    if size == 0:
        return 'empty (0 bytes): the download or copy did not finish'
    with open(path, 'rb') as f:
        head = f.read(1024)
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError, EOFError):
            return (f'truncated or corrupt ({size} bytes; a torch.save zip file without its central directory): '
                    'the download or copy was cut short')
        if not any(n.endswith('data.pkl') or n.endswith('constants.pkl') for n in names):
            return 'a zip archive, but not one written by torch.save'
        return None
    if head.startswith(_PICKLE_PROTO):
        return None  # legacy torch.save format; its loader reports truncation itself
    if len(head) >= 8:
        n = int.from_bytes(head[:8], 'little')  # safetensors: u64 header length, then a JSON header
        if 0 < n < size and head[8:9] == b'{':
            return None
    text = _looks_like_text_page(head)
    if text:
        return text
    return f'not a PyTorch checkpoint (its first bytes are {head[:8]!r})'

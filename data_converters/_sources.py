"""Where the converters read the official files from: the archive(s), the folder holding them, or the tree an
archive extracts to -- all three read the same way.

:func:`list_members` turns any of these into one list of :class:`Member` (a file inside a zip or on disk, with a
*logical path*: a zip member is prefixed with the archive's name without ``.zip``, a plain file is relative to the
folder given). Converters assign roles (image, label, ...) with :func:`assign`, by regular expressions on that
path that name the product folder, never by basename alone; two members claiming the same role and key (an
archive and its extracted copy, two releases side by side) are an error naming both. :func:`warn_missing` is the
one voice for partial downloads: it lists the official items that are not there and the orphans that were
skipped; only a dataset with nothing usable is an error.
"""
import os
import os.path as osp
import re
import sys
from typing import Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

import _common

ConversionError = _common.ConversionError


class Member(NamedTuple):
    """One input file. ``zip`` is the archive path ('' for a plain file); ``name`` the member name inside it (or
    the file's path); ``path`` the logical path the roles are matched on."""
    zip: str
    name: str
    path: str

    @property
    def where(self) -> str:
        """Human-readable location for messages: ``archive.zip:member`` or the file path."""
        return f'{self.zip}:{self.name}' if self.zip else self.name

    @property
    def src(self) -> Tuple[str, str]:
        """Picklable ``(zip, name)`` for the worker processes (:func:`read_bytes`, :func:`raster_src`)."""
        return self.zip, self.name


def read_bytes(src: Tuple[str, str]) -> bytes:
    """The bytes of a member (``(zip, name)``; zip '' = plain file)."""
    zip_path, name = src
    if zip_path:
        return _common.worker_zip(zip_path).read(name)
    with open(name, 'rb') as f:
        return f.read()


def raster_src(src: Tuple[str, str]) -> str:
    """What rasterio opens for a member: a ``zip://`` URL or the file path."""
    zip_path, name = src
    return f'zip://{osp.abspath(zip_path)}!{name}' if zip_path else name


def _zip_members(path: str, dataset: str, url: str, folder: str = '') -> List[Member]:
    """``folder``: the archive's folder relative to the one given (part of the logical path: iSAID's
    ``train/images/part1.zip`` says the split only there)."""
    zf = _common.open_zip(path, dataset, url)
    try:
        stem = osp.splitext(osp.basename(path))[0]
        prefix = f'{folder}/{stem}' if folder else stem
        return [Member(path, n, f'{prefix}/{n}') for n in zf.namelist() if not n.endswith('/')]
    finally:
        zf.close()


def list_members(raw: str, dataset: str, url: str) -> List[Member]:
    """Every file of ``raw``: a zip archive, or a folder whose zip archives (at any depth) and plain files are
    all read. Hidden files (temp files of an interrupted copy) are skipped."""
    if not osp.exists(raw):
        raise ConversionError(f'{raw} not found. Download {dataset} from {url} and pass the archive, the folder '
                              'holding it, or the folder it extracts to.')
    if osp.isfile(raw):
        if not raw.lower().endswith('.zip'):
            raise ConversionError(f'{raw} is not a zip archive: pass the official {dataset} archive, the folder '
                                  f'holding it, or the extracted folder ({url})')
        return _zip_members(raw, dataset, url)
    members = []
    for dirpath, dirs, files in os.walk(raw):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for f in sorted(files):
            if f.startswith('.'):
                continue
            full = osp.join(dirpath, f)
            if f.lower().endswith('.zip'):
                rel = osp.relpath(dirpath, raw).replace(os.sep, '/')
                members += _zip_members(full, dataset, url, '' if rel == '.' else rel)
            else:
                members.append(Member('', full, osp.relpath(full, raw).replace(os.sep, '/')))
    return members


def assign(members: Iterable[Member], roles: Dict[str, 're.Pattern'],
           key: Optional[Callable[['re.Match'], str]] = None,
           exclusive: bool = False) -> Dict[str, Dict[str, Member]]:
    """``{role: {key: member}}``: a member takes a role when the role's pattern ``search``-es its logical path
    (``key(match)``, default the first group). A role+key claimed twice is an error naming both members;
    ``exclusive``: so is a member that matches two roles (naming the member and both roles)."""
    key = key or (lambda m: m.group(1))
    out: Dict[str, Dict[str, Member]] = {r: {} for r in roles}
    for m in members:
        taken = None
        for role, rx in roles.items():
            mt = rx.search(m.path)
            if not mt:
                continue
            if exclusive and taken:
                raise ConversionError(f'{m.where} could be both the {taken} and the {role}: the roles are told '
                                      'apart by product folder; keep the official folder names')
            taken = role
            k = key(mt)
            if k in out[role]:
                raise ConversionError(
                    f'two files claim the {role} of {k}: {out[role][k].where} and {m.where}. Pass one copy of the '
                    'dataset (the archive or the extracted folder, one release), not a folder holding both.')
            out[role][k] = m
    return out


def _natural(name: str):
    """Sort key with numbers compared as numbers (austin2 before austin10)."""
    return [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', name)]


def _names(items: Sequence[str], limit: int = 0) -> str:
    items = sorted(items, key=_natural)
    if limit and len(items) > limit:
        return ', '.join(items[:limit]) + f', ... ({len(items) - limit} more)'
    return ', '.join(items)


def warn(message: str) -> None:
    """A warning on stderr (the run goes on)."""
    print(f'warning: {message}', file=sys.stderr)


def warn_missing(dataset: str, what: str, found: int, official: Optional[int],
                 missing: Sequence[str] = (), orphans: Dict[str, Sequence[str]] = None) -> None:
    """Say what a partial download lacks: the official items not found (by name when the official list is
    known), and the files skipped because their partner is missing (``orphans``: reason -> names)."""
    if missing:
        warn(f'{dataset}: {len(missing)} official {what} not found (partial download?), converting the '
             f'{found} there: {_names(missing)}')
    elif official is not None and found < official:
        warn(f'{dataset}: {found} of the official {official} {what} found (partial download?); converting those')
    for reason, names in (orphans or {}).items():
        if names:
            warn(f'{dataset}: skipped {len(names)} file(s), {reason}: {_names(names, 50)}')


def require_some(found: int, dataset: str, what: str, raw: str, hint: str) -> None:
    """Only a dataset with nothing usable is an error."""
    if not found:
        raise ConversionError(f'{raw} has no usable {dataset} {what}: {hint}')

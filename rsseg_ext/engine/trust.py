"""Which full (pickled) checkpoints this user trusts, in a form that nobody else can forge or copy in.

Unpickling a checkpoint runs code stored in it, so :mod:`rsseg_ext.engine.checkpoint` unpickles a file only when
one of these says it is the user's own:

1. **a record signed with the user's secret**: a 32-byte key created on first use in the user's config folder
   (``$RSSEG_EXT_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/rsseg_ext``, else ``~/.config/rsseg_ext``; folder 0700, key
   0600, refused when others can read it). A record is ``sha256`` + ``size`` + ``run`` + an HMAC-SHA256 over them
   and its scope. Training runs write records for their checkpoints into ``<work_dir>/.rsseg_ext_checkpoints.json``
   (:class:`~rsseg_ext.engine.hooks.CheckpointManifestHook`), scoped to that folder: the run vouches for the file
   it wrote there, so a ``.pth`` copied elsewhere together with its sidecar is not trusted there.
   ``python -m rsseg_ext.trust CKPT`` writes a record of the content alone (path-independent: the user vouched
   for these bytes) into the user's store ``trusted_checkpoints.json`` in the config folder. A sidecar written by
   hand, forged from the file's hash, copied from another user (another key) or to another folder verifies
   nothing.
2. **the environment**: ``RSSEG_EXT_TRUSTED_CHECKPOINTS``, a ``os.pathsep``-separated list of files or folders
   (everything under a folder) -- the route for mmseg's own ``tools/test.py``/``train.py``, which reject unknown
   flags.
3. **this process**: :func:`trust_checkpoint` (what ``--trust-checkpoint`` does).
"""
import hashlib
import hmac
import json
import os
import os.path as osp
import secrets
import time
from typing import BinaryIO, Dict, Optional, Set

from ..utils.fileio import atomic_write_text, temp_path

MANIFEST_NAME = '.rsseg_ext_checkpoints.json'
STORE_NAME = 'trusted_checkpoints.json'
KEY_NAME = 'trust.key'
TRUST_ENV = 'RSSEG_EXT_TRUSTED_CHECKPOINTS'
CONFIG_DIR_ENV = 'RSSEG_EXT_CONFIG_DIR'
_RECORD_TAG = b'rsseg_ext checkpoint record v2'
_TRUSTED: Set[str] = set()


class TrustKeyError(RuntimeError):
    """The user's trust key exists but cannot be used safely (readable by others, wrong owner, damaged)."""


def realkey(path: str) -> str:
    return osp.realpath(osp.expanduser(path))


def config_dir() -> str:
    if os.environ.get(CONFIG_DIR_ENV):
        return osp.expanduser(os.environ[CONFIG_DIR_ENV])
    base = os.environ.get('XDG_CONFIG_HOME') or osp.join(osp.expanduser('~'), '.config')
    return osp.join(base, 'rsseg_ext')


def _read_key(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0))
    try:
        st = os.fstat(fd)
        if hasattr(os, 'getuid') and st.st_uid != os.getuid():
            raise TrustKeyError(f'{path} belongs to another user: delete it (a new key is made on next use; '
                                'checkpoints recorded with the old one must be trusted again)')
        if st.st_mode & 0o077:
            raise TrustKeyError(f'{path} is readable by others, so anyone could sign checkpoints: '
                                f'run chmod 600 {path}')
        data = os.read(fd, 64)
    finally:
        os.close(fd)
    if len(data) != 32:
        raise TrustKeyError(f'{path} is damaged ({len(data)} bytes, expected 32): delete it and trust your '
                            'checkpoints again')
    return data


def user_key(create: bool = True) -> Optional[bytes]:
    """The user's 32-byte secret; created (0600, atomically) on first use when ``create``."""
    folder = config_dir()
    path = osp.join(folder, KEY_NAME)
    if osp.lexists(path):
        return _read_key(path)
    if not create:
        return None
    os.makedirs(folder, mode=0o700, exist_ok=True)
    tmp = temp_path(path)  # mkstemp: created 0600
    try:
        with open(tmp, 'wb') as f:
            f.write(secrets.token_bytes(32))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails if another process made the key first: then use theirs
        except FileExistsError:
            pass
    finally:
        os.remove(tmp)
    return _read_key(path)


def _mac(key: bytes, sha256: str, size: int, run: str, scope: str) -> str:
    msg = b'\n'.join([_RECORD_TAG, sha256.encode(), str(size).encode(), run.encode('utf-8'),
                      scope.encode('utf-8', 'surrogateescape')])
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def make_record(sha256: str, size: int, run: str, scope: str = '') -> dict:
    """A signed record; ``scope`` is the folder it vouches for ('' = the content anywhere)."""
    return dict(sha256=sha256, size=size, run=run, mac=_mac(user_key(create=True), sha256, size, run, scope))


def record_is_valid(entry, sha256: str, size: int, key: Optional[bytes], scope: str = '') -> bool:
    """True when ``entry`` is a record of exactly this content, for ``scope``, signed with ``key``."""
    if key is None or not isinstance(entry, dict):
        return False
    run, mac = entry.get('run'), entry.get('mac')
    if not isinstance(run, str) or not isinstance(mac, str):
        return False
    return (entry.get('sha256') == sha256 and entry.get('size') == size
            and hmac.compare_digest(mac, _mac(key, sha256, size, run, scope)))


def stream_sha256(f: BinaryIO, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    for block in iter(lambda: f.read(chunk), b''):
        h.update(block)
    return h.hexdigest()


def file_sha256(path: str) -> str:
    with open(path, 'rb') as f:
        return stream_sha256(f)


def _read_json(path: str) -> Dict[str, dict]:
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}  # missing or unreadable: trusts nothing
    return data if isinstance(data, dict) else {}


def read_manifest(folder: str) -> Dict[str, dict]:
    return _read_json(osp.join(folder, MANIFEST_NAME))


def _write_json(path: str, data: dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True))


def record_checkpoint(path: str, run: str = '') -> None:
    """Sign a record of ``path`` (content hash, size, ``run``) into its folder's manifest: what a training run
    does for each checkpoint it writes."""
    folder, name = osp.split(realkey(path))
    data = read_manifest(folder)
    data[name] = make_record(file_sha256(path), osp.getsize(path), run or f'run-{os.getpid()}-{time.time():.0f}',
                             scope=folder)
    _write_json(osp.join(folder, MANIFEST_NAME), data)


def store_path() -> str:
    return osp.join(config_dir(), STORE_NAME)


def add_to_store(path: str) -> dict:
    """Trust ``path``'s current content for this user (``python -m rsseg_ext.trust``); returns the record."""
    full = realkey(path)
    sha = file_sha256(full)
    record = make_record(sha, osp.getsize(full), f'trusted by hand: {full}')
    data = _read_json(store_path())
    data[sha] = record
    os.makedirs(config_dir(), mode=0o700, exist_ok=True)
    _write_json(store_path(), data)
    return record


def remove_from_store(path: str) -> bool:
    sha = file_sha256(realkey(path))
    data = _read_json(store_path())
    if data.pop(sha, None) is None:
        return False
    _write_json(store_path(), data)
    return True


def trust_checkpoint(path: str) -> None:
    """Allow unpickling of ``path`` in this process (what ``--trust-checkpoint`` does)."""
    _TRUSTED.add(realkey(path))


def _env_trusts(full: str) -> bool:
    for item in os.environ.get(TRUST_ENV, '').split(os.pathsep):
        if not item.strip():
            continue
        entry = realkey(item.strip())
        if full == entry or (osp.isdir(entry) and osp.commonpath([full, entry]) == entry):
            return True
    return False


def trusted_without_hash(path: str) -> Optional[str]:
    """Why ``path`` is trusted without looking at its content (process or environment), or None."""
    full = realkey(path)
    if full in _TRUSTED:
        return 'trusted explicitly in this process'
    if _env_trusts(full):
        return f'listed in {TRUST_ENV}'
    return None


def trusted_content(path: str, sha256: str, size: int) -> Optional[str]:
    """Why the content (``sha256``, ``size``) of ``path`` is trusted by a signed record, or None."""
    key = user_key(create=False)  # no key yet: nothing was ever signed
    if key is None:
        return None
    folder, name = osp.split(realkey(path))
    if record_is_valid(read_manifest(folder).get(name), sha256, size, key, scope=folder):
        return f'recorded by its training run ({MANIFEST_NAME})'
    if record_is_valid(_read_json(store_path()).get(sha256), sha256, size, key):
        return f'trusted with python -m rsseg_ext.trust ({store_path()})'
    return None


def is_trusted(path: str) -> bool:
    if trusted_without_hash(path):
        return True
    full = realkey(path)
    return trusted_content(full, file_sha256(full), osp.getsize(full)) is not None

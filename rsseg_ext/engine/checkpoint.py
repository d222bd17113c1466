"""Checkpoint-loading policy: ``weights_only=True`` first, pickles only for trusted files.

torch >= 2.6 loads with ``weights_only=True`` by default, which rejects mmengine's full Runner checkpoints
(they pickle ``HistoryBuffer``, numpy objects, ...). Unpickling executes code from the file, so we allow it only
for checkpoints that

* a training run wrote itself: :class:`CheckpointManifestHook` records the sha256 of every checkpoint it sees
  saved into ``<work_dir>/.rsseg_ext_checkpoints.json``; a file whose hash still matches is trusted (a tampered
  or foreign file in the same folder is not), or
* the user named explicitly (``--trust-checkpoint`` in ``tools/train.py``/``tools/test.py``, or
  :func:`trust_checkpoint` in code).

Published checkpoints (``state_dict`` + a plain ``meta``) load with ``weights_only=True`` and need neither.
``import rsseg_ext`` installs this as mmengine's loader for local paths, so ``load_from``, ``--resume``,
``tools/test.py`` and ``mmseg.apis.init_model`` all go through it.
"""
import hashlib
import json
import os
import os.path as osp
import pickle
import tempfile
from typing import Dict, Optional, Set, Union

import torch
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader

MANIFEST_NAME = '.rsseg_ext_checkpoints.json'
_TRUSTED: Set[str] = set()


class UntrustedCheckpointError(RuntimeError):
    """A full (pickled) checkpoint that is neither recorded by its own training run nor explicitly trusted."""


def _key(path: str) -> str:
    return osp.realpath(osp.expanduser(path))


def trust_checkpoint(path: str) -> None:
    """Allow unpickling of ``path`` in this process (what ``--trust-checkpoint`` does)."""
    _TRUSTED.add(_key(path))


def trust_config_checkpoints(cfg) -> list:
    """Trust ``load_from`` and every ``init_cfg.checkpoint`` (pretrained backbones) a config names; returns them.

    What ``--trust-checkpoint`` in ``tools/train.py`` does: the files the user's own config points at.
    """
    found = []

    def walk(node):
        if isinstance(node, dict):
            init = node.get('init_cfg')
            for item in (init if isinstance(init, (list, tuple)) else [init]):
                if isinstance(item, dict) and isinstance(item.get('checkpoint'), str):
                    found.append(item['checkpoint'])
            for v in node.values():
                walk(v)
        elif isinstance(node, (list, tuple)):
            for v in node:
                walk(v)

    walk(cfg.get('model', {}))
    if cfg.get('load_from'):
        found.append(cfg['load_from'])
    for path in found:
        trust_checkpoint(path)
    return found


def plain_meta(obj):
    """JSON-like values only (tuples -> lists, other objects -> str), so that ``torch.load(weights_only=True)``
    accepts a checkpoint's ``meta``."""
    if isinstance(obj, dict):
        return {str(k): plain_meta(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain_meta(v) for v in obj]
    # exact builtin types: subclasses (TorchVersion, numpy scalars) would pickle as globals
    for t in (bool, int, float, str):
        if isinstance(obj, t):
            return t(obj)
    return None if obj is None else str(obj)


def file_sha256(path: str, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            h.update(block)
    return h.hexdigest()


def read_manifest(folder: str) -> Dict[str, dict]:
    path = osp.join(folder, MANIFEST_NAME)
    if not osp.isfile(path):
        return {}
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}  # an unreadable manifest trusts nothing
    return data if isinstance(data, dict) else {}


def _write_manifest(folder: str, data: Dict[str, dict]) -> None:
    # temp file + rename: a crash never leaves a half-written manifest
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=MANIFEST_NAME, suffix='.tmp')
    with os.fdopen(fd, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.chmod(tmp, 0o644)
    os.replace(tmp, osp.join(folder, MANIFEST_NAME))


def record_checkpoint(path: str) -> None:
    """Record ``path`` (name, size, sha256) in its folder's manifest as written by this run."""
    folder, name = osp.split(_key(path))
    data = read_manifest(folder)
    data[name] = dict(sha256=file_sha256(path), size=osp.getsize(path))
    _write_manifest(folder, data)


def is_trusted(path: str) -> bool:
    key = _key(path)
    if key in _TRUSTED:
        return True
    folder, name = osp.split(key)
    entry = read_manifest(folder).get(name)
    if not isinstance(entry, dict):
        return False
    return entry.get('size') == osp.getsize(key) and entry.get('sha256') == file_sha256(key)


def _untrusted_message(path: str, reason: str) -> str:
    return (
        f'Refusing to unpickle checkpoint {path}.\n'
        f'  It is a full training checkpoint (torch.load(weights_only=True) rejected it: {reason}), and '
        'loading it that way would run code stored in the file.\n'
        '  rsseg_ext loads such files only when the training run that wrote them recorded them in '
        f'{MANIFEST_NAME} next to the file (tools/train.py does this in its work_dir; a file that changed '
        'since, or was copied in from elsewhere, does not match).\n'
        '  If you trust this file: pass --trust-checkpoint to tools/train.py / tools/test.py, or call '
        'rsseg_ext.engine.trust_checkpoint(path) before loading.\n'
        '  Checkpoints meant for others should hold only state_dict + meta (tools/publish_model.py); those '
        'load safely without any flag.')


def load_checkpoint_file(filename: str, map_location: Union[str, torch.device, None] = None) -> dict:
    """Load a local checkpoint: ``weights_only=True``, falling back to unpickling only for trusted files."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint {filename} can not be found: check the path '
                                '(load_from / --resume / the CHECKPOINT argument).')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if not is_trusted(filename):
            raise UntrustedCheckpointError(_untrusted_message(filename, reason)) from None
    print_log(f'Unpickling trusted full checkpoint {filename}', logger='current')
    return torch.load(filename, map_location=map_location, weights_only=False)


def install_loader() -> None:
    """Make :func:`load_checkpoint_file` mmengine's loader for local paths (idempotent)."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_checkpoint_file, force=True)

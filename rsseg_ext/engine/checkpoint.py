"""Checkpoint-loading policy: ``weights_only=True`` first, pickles only for files the user trusts.

torch >= 2.6 loads with ``weights_only=True`` by default, which rejects mmengine's full Runner checkpoints
(they pickle ``HistoryBuffer``, numpy objects, ...). Unpickling executes code from the file, so we allow it only
for checkpoints that :mod:`rsseg_ext.engine.trust` vouches for: a record signed with the user's own secret (written
by the training run that saved the file, or by ``python -m rsseg_ext.trust CKPT``), a path listed in
``RSSEG_EXT_TRUSTED_CHECKPOINTS``, or ``--trust-checkpoint`` / :func:`trust_checkpoint` in this process.

Published checkpoints (``state_dict`` + a plain ``meta``) load with ``weights_only=True`` and need none of that.
Files that are not checkpoints at all (empty, cut short, an HTML page) get one line saying so, before any
unpickling. ``import rsseg_ext`` installs this as mmengine's loader for local paths, so ``load_from``,
``--resume``, ``tools/test.py`` and ``mmseg.apis.init_model`` all go through it.
"""
import os
import os.path as osp
import pickle
import re
from typing import Union

import torch
from mmengine.logging import print_log
from mmengine.runner.checkpoint import CheckpointLoader

from ..utils.checkpoint_files import checkpoint_file_problem
from .trust import (MANIFEST_NAME, TRUST_ENV, file_sha256, is_trusted, record_checkpoint,  # noqa: F401
                    stream_sha256, trust_checkpoint, trusted_content, trusted_without_hash)


class UntrustedCheckpointError(RuntimeError):
    """A full (pickled) checkpoint that no signed record, environment entry or explicit flag vouches for."""


class BadCheckpointError(RuntimeError):
    """The file is not a usable checkpoint (empty, cut short, an HTML page, random bytes)."""


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


def _untrusted_message(path: str, reason: str) -> str:
    return (
        f'Refusing to unpickle checkpoint {path}.\n'
        f'  It is a full training checkpoint (torch.load(weights_only=True) rejected it: {reason}), and '
        'loading it that way would run code stored in the file.\n'
        '  rsseg_ext unpickles only files you vouched for: checkpoints your own training runs recorded '
        f'(signed with your key in {MANIFEST_NAME} in the folder the run wrote them to; a record from someone '
        'else or another folder, written by hand or left from a changed file does not count), or files you '
        'trust explicitly.\n'
        '  If you trust this file: run `python -m rsseg_ext.trust FILE` once (works with mmseg\'s own tools '
        f'too), or set {TRUST_ENV}=FILE, or pass --trust-checkpoint to our tools.\n'
        '  Checkpoints meant for others should hold only state_dict + meta (tools/publish_model.py); those '
        'load safely without any of this.')


def check_checkpoint_file(filename: str) -> str:
    """The expanded path of a readable checkpoint file, or one clear error naming the file and what it is."""
    path = osp.expanduser(filename)
    if not osp.isfile(path):
        raise FileNotFoundError(f'Checkpoint {path} can not be found: check the path '
                                '(load_from / --resume / the CHECKPOINT argument).')
    problem = checkpoint_file_problem(path)
    if problem:
        raise BadCheckpointError(f'Checkpoint {path} is {problem}; download or copy it again.')
    return path


def _first_line(e: BaseException) -> str:
    text = re.sub(r'\x1b\[[0-9;]*m', '', str(e)).strip()  # torch colours parts of its message
    # torch's weights_only refusal: the line that names the offending global says most
    found = re.search(r'WeightsUnpickler error: ([^\n]*)', text)
    if found:
        return found.group(1).split('. Please')[0].strip()
    return text.splitlines()[0] if text else type(e).__name__


def load_checkpoint_file(filename: str, map_location: Union[str, torch.device, None] = None) -> dict:
    """Load a local checkpoint: ``weights_only=True``, falling back to unpickling only for trusted files."""
    path = check_checkpoint_file(filename)
    with open(path, 'rb') as f:  # one open file: what is hashed is what is loaded
        try:
            return torch.load(f, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as e:
            reason = _first_line(e)
        except (RuntimeError, EOFError, ValueError) as e:
            raise BadCheckpointError(f'Checkpoint {path} could not be read ({_first_line(e)}): it is '
                                     'truncated or damaged; download or copy it again.') from None
        why = trusted_without_hash(path)
        if why is None:
            f.seek(0)
            sha = stream_sha256(f)
            why = trusted_content(path, sha, os.fstat(f.fileno()).st_size)
        if why is None:
            raise UntrustedCheckpointError(_untrusted_message(path, reason))
        print_log(f'Unpickling trusted full checkpoint {path} ({why})', logger='current')
        f.seek(0)
        return torch.load(f, map_location=map_location, weights_only=False)


def install_loader() -> None:
    """Make :func:`load_checkpoint_file` mmengine's loader for local paths (idempotent)."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_checkpoint_file, force=True)

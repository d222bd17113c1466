"""The one way rsseg_ext loads weights from local files (architecture rule: nothing downloads).

* :func:`require_local_file` -- refuses URLs and hub tags, raises ``FileNotFoundError`` naming the expected path,
  its absolute resolution and where to obtain the file.
* :func:`load_local_state_dict` -- reads ``.safetensors``, plain ``torch.save`` state dicts (``weights_only=True``,
  no unpickling of code), TorchScript archives (OpenAI CLIP ``.pt``), unwraps ``state_dict``/``model``/``module``
  containers and strips DDP's ``module.`` prefix.
* :func:`load_weights` -- maps keys (a prefix filter, a rename function, a dict of renames) and loads them into a
  module, returning a :class:`LoadReport` of missing/unexpected/shape-mismatched keys, logged in one place.

``tools/model_converters/*`` and every ``init_weights`` that reads a pretrained file go through these helpers.
"""
import os.path as osp
import zipfile
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log

from ...utils.checkpoint_files import checkpoint_file_problem

__all__ = ['require_local_file', 'load_local_state_dict', 'load_weights', 'LoadReport', 'WeightsNotFoundError']


class WeightsNotFoundError(FileNotFoundError):
    """A weights file the model needs is not where the config says."""


def require_local_file(path: Optional[str], what: str = 'weights', source: Optional[str] = None,
                       config_key: Optional[str] = None) -> str:
    """Return ``path`` (user-expanded) if it is an existing local file, else raise with an actionable message.

    Args:
        path: the configured path.
        what: what the file is, e.g. ``'RemoteCLIP ViT-B-32 checkpoint'``.
        source: where to get it (URL or instructions), quoted in the error.
        config_key: the config key that sets the path, quoted in the error (e.g. ``model.text_encoder.checkpoint``).
    """
    if path is None:
        raise WeightsNotFoundError(f'No path given for the {what}.' + _hint(source, config_key))
    path = str(path)
    if '://' in path or path.startswith(('hf-hub:', 'hf_hub:', 'local-dir:')):
        raise ValueError(f'{what}: expected a local file, got {path!r}. rsseg_ext never downloads weights: '
                         f'fetch the file yourself once and give its local path.' + _hint(source, config_key))
    full = osp.expanduser(path)
    if not osp.isfile(full):
        raise WeightsNotFoundError(
            f'{what} not found: {path} (resolved to {osp.abspath(full)}). Put the file at that path (relative paths '
            f'are relative to the directory you run the tools from).' + _hint(source, config_key))
    return full


def _hint(source: Optional[str], config_key: Optional[str]) -> str:
    out = ''
    if source:
        out += f'\n  Get it from: {source}'
    if config_key:
        out += f'\n  Or point {config_key}=<your path> at your copy.'
    return out + '\n  rsseg_ext never downloads weights.'


_CONTAINER_KEYS = ('state_dict', 'model', 'module', 'model_state', 'state_dict_ema')


def load_local_state_dict(path: str, what: str = 'weights', source: Optional[str] = None,
                          config_key: Optional[str] = None, trusted: bool = False) -> Dict[str, torch.Tensor]:
    """Read a local weights file into a flat ``{key: tensor}`` dict on the CPU.

    Safe by default: ``torch.load(weights_only=True)``; checkpoints that need full unpickling (mmengine
    checkpoints holding config objects) must go through :mod:`rsseg_ext.engine.checkpoint`'s trust policy first.
    ``trusted=True`` (the user vouched for the file, e.g. ``--trust-checkpoint`` of a model converter) unpickles
    it (``weights_only=False``): some third-party training checkpoints (Lightning) pickle Python objects.
    """
    full = require_local_file(path, what, source, config_key)
    problem = checkpoint_file_problem(full)
    if problem:
        raise RuntimeError(f'The {what} at {full} is {problem}; download or copy it again'
                           + (f' (from {source})' if source else '') + '.')
    try:
        if full.endswith('.safetensors'):
            from safetensors.torch import load_file
            obj = load_file(full, device='cpu')
        elif _is_torchscript(full):
            # OpenAI CLIP releases are TorchScript archives: jit.load reads TorchScript, not arbitrary pickles
            obj = torch.jit.load(full, map_location='cpu')
        else:
            obj = torch.load(full, map_location='cpu', weights_only=not trusted)
    except Exception as e:  # noqa: BLE001 -- re-raised with the file named
        raise RuntimeError(f'Could not read the {what} at {full}: {type(e).__name__}: {e}\n  Is it a complete '
                           f'PyTorch/safetensors weights file (not an HTML page or a partial download)? A full training checkpoint '
                           f'that needs unpickling: strip it with tools/publish_model.py first.') from e
    if isinstance(obj, torch.jit.ScriptModule):
        obj = {k: v for k, v in obj.state_dict().items()
               if k not in ('input_resolution', 'context_length', 'vocab_size')}
    # unwrap one level of container ({'state_dict': ...}, {'model': ...}) when it holds the tensors
    for _ in range(2):
        if isinstance(obj, Mapping) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
            inner = next((obj[k] for k in _CONTAINER_KEYS if isinstance(obj.get(k), Mapping)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, Mapping):
        raise RuntimeError(f'The {what} at {full} holds a {type(obj).__name__}, not a state dict.')
    sd = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if sd and all(k.startswith('module.') for k in sd):
        sd = {k[len('module.'):]: v for k, v in sd.items()}
    return sd


def _is_torchscript(path: str) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any(n.split('/', 1)[-1] == 'constants.pkl' for n in z.namelist())


@dataclass
class LoadReport:
    """What :func:`load_weights` did. ``ok`` is True when nothing the module needs was left unset."""
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[str] = field(default_factory=list)  # 'key: file shape vs model shape'

    @property
    def ok(self) -> bool:
        return not self.missing and not self.mismatched

    def summary(self, limit: int = 20) -> str:

        def fmt(name, keys):
            if not keys:
                return ''
            more = f' ... (+{len(keys) - limit})' if len(keys) > limit else ''
            return f'\n  {name} ({len(keys)}): ' + ', '.join(keys[:limit]) + more

        return (f'loaded {len(self.loaded)} tensors' + fmt('missing in the file', self.missing) +
                fmt('unexpected in the file', self.unexpected) + fmt('shape mismatch', self.mismatched))


KeyMap = Union[None, Callable[[str], Optional[str]], Mapping[str, str]]


def map_keys(state_dict: Mapping[str, torch.Tensor], prefix: Optional[str] = None,
             key_map: KeyMap = None) -> Dict[str, torch.Tensor]:
    """Keep keys under ``prefix`` (stripped), then rename: ``key_map`` is a function returning the new key or
    ``None`` to drop it, or a dict of exact renames / prefix renames (entries ending with ``'.'``)."""
    out = {}
    for k, v in state_dict.items():
        if prefix:
            if not k.startswith(prefix):
                continue
            k = k[len(prefix):]
        if callable(key_map):
            k = key_map(k)
        elif key_map:
            if k in key_map:
                k = key_map[k]
            else:
                for old, new in key_map.items():
                    if old.endswith('.') and k.startswith(old):
                        k = new + k[len(old):]
                        break
        if k is not None:
            out[k] = v
    return out


def load_weights(module: nn.Module, state_dict: Mapping[str, torch.Tensor], prefix: Optional[str] = None,
                 key_map: KeyMap = None, strict: bool = False, ignore_missing: Callable[[str], bool] = None,
                 what: str = 'weights', logger: str = 'current') -> LoadReport:
    """Load ``state_dict`` (after :func:`map_keys`) into ``module``; shape-mismatched tensors are skipped and
    reported instead of raising half-way. ``strict=True`` raises (after nothing was changed) when keys the module
    needs are missing or mismatched; ``ignore_missing(key)`` marks module keys that may stay unset."""
    sd = map_keys(state_dict, prefix, key_map)
    own = module.state_dict()
    report = LoadReport()
    good = {}
    for k, v in sd.items():
        if k not in own:
            report.unexpected.append(k)
        elif tuple(own[k].shape) != tuple(v.shape):
            report.mismatched.append(f'{k}: {tuple(v.shape)} vs {tuple(own[k].shape)}')
        else:
            good[k] = v
    report.missing = [k for k in own if k not in good and not any(m.startswith(k + ':') for m in report.mismatched)
                      and not (ignore_missing and ignore_missing(k))]
    report.loaded = sorted(good)
    if strict and not report.ok:
        raise RuntimeError(f'{what} do not fit {type(module).__name__}: {report.summary()}')
    module.load_state_dict(good, strict=False)
    print_log(f'{what} -> {type(module).__name__}: {report.summary()}', logger=logger)
    return report

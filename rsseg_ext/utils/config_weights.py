"""Find the local weight files a training config names, before anything is built.

Building a large model takes many seconds and mmengine only runs ``init_weights`` (where a missing ``init_cfg``
checkpoint surfaces) after the model, the datasets and the optimizer exist. :func:`check_config_weights` walks the
config instead and names every missing file in one message, with the config key to change and where to get it.

Keys looked at (mmengine / mmseg conventions and this package's modules):

* ``dict(type='Pretrained' | 'LocalPretrained', checkpoint=PATH)`` wherever it sits (``init_cfg``, a list of
  them, FCtL's ``context_backbone_init``);
* ``pretrained=PATH`` (mmseg's ``EncoderDecoder`` and backbones, e.g. ``NKKViT``);
* ``checkpoint=PATH`` in a module config (``type=...``): the open_clip / DINO encoders;
* the top-level ``load_from``.

Remote references (``open-mmlab://``, ``https://``, ``hf-hub:`` ...) are left to mmengine or to the module
(which refuses them); only plain paths are checked, relative to the working directory as the loaders read them.
"""
import os
import os.path as osp
from typing import Iterator, List, Mapping, Optional, Tuple

__all__ = ['find_config_weights', 'missing_config_weights', 'check_config_weights', 'MissingWeightsError']

_PRETRAINED_INITS = ('Pretrained', 'LocalPretrained')


class MissingWeightsError(FileNotFoundError):
    """Weight files named by a config do not exist."""


def _is_local(path) -> bool:
    return isinstance(path, str) and bool(path) and '://' not in path and not path.startswith(
        ('hf-hub:', 'hf_hub:', 'local-dir:'))


def find_config_weights(cfg) -> Iterator[Tuple[str, str, Optional[str]]]:
    """Yield ``(config key, path, source)`` for every local weight file the config names.

    Args:
        cfg: an mmengine ``Config`` or dict (``model`` and ``load_from`` are read), or any sub-dict.
    """

    def walk(node, key: str):
        if isinstance(node, Mapping):
            if node.get('type') in _PRETRAINED_INITS:  # an init_cfg, or e.g. FCtL's context_backbone_init entries
                if _is_local(node.get('checkpoint')):
                    yield f'{key}.checkpoint', node['checkpoint'], node.get('source')
            elif 'type' in node and _is_local(node.get('checkpoint')):
                yield f'{key}.checkpoint', node['checkpoint'], node.get('checkpoint_source') or node.get('source')
            if _is_local(node.get('pretrained')):
                yield f'{key}.pretrained', node['pretrained'], node.get('source')
            for k, v in node.items():
                yield from walk(v, f'{key}.{k}' if key else str(k))
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                yield from walk(v, f'{key}[{i}]')

    if not isinstance(cfg, Mapping) and hasattr(cfg, 'to_dict'):  # mmengine's Config is not a Mapping
        cfg = cfg.to_dict()
    if isinstance(cfg, Mapping) and 'model' in cfg:
        yield from walk(cfg['model'], 'model')
        if _is_local(cfg.get('load_from')):
            yield 'load_from', cfg['load_from'], None
    else:
        yield from walk(cfg, '')


def missing_config_weights(cfg) -> List[Tuple[str, str, Optional[str]]]:
    """The entries of :func:`find_config_weights` whose file does not exist (each path once)."""
    seen, missing = set(), []
    for key, path, source in find_config_weights(cfg):
        full = osp.abspath(osp.expanduser(path))
        if full in seen:
            continue
        seen.add(full)
        if not osp.isfile(full):
            missing.append((key, path, source))
    return missing


def check_config_weights(cfg) -> None:
    """Raise :class:`MissingWeightsError` naming every missing weight file of a training config.

    The message is one line per file (key, path as given and as resolved, where to get it) after one sentence that
    says what to do.
    """
    missing = missing_config_weights(cfg)
    if not missing:
        return
    lines = []
    for key, path, source in missing:
        full = osp.abspath(osp.expanduser(path))
        lines.append(f'  {key}={path!r} (looked for {full})' + (f'; get it from {source}' if source else ''))
    n = len(missing)
    head = (f'{n} weight file{"s" if n > 1 else ""} named by the config {"are" if n > 1 else "is"} missing, so '
            f'nothing was built: put {"them" if n > 1 else "it"} at the path shown (relative paths are relative to '
            f'{os.getcwd()}) or change the key with --cfg-options (setting an init_cfg to None trains that part from '
            'scratch); rsseg_ext never downloads weights.')
    raise MissingWeightsError('\n'.join([head] + lines))

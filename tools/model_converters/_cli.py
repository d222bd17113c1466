"""The command line every ``tools/model_converters/*`` script shares: ``SRC DST [--config C] [--cfg-options ...]
[--allow-partial] [--trust-checkpoint]``.

:func:`converter_arg_parser` declares those arguments; :func:`run_converter` reads SRC (local only,
``weights_only=True`` unless ``--trust-checkpoint``), converts it with the script's key rules
(:mod:`rsseg_ext.models.utils.weight_conversion`), checks the result against the target model, prints the report
and writes DST with :func:`save_converted` (a checkpoint mmengine/mmseg load and ``torch.load(weights_only=True)``
accepts) when every key matched. The scripts import this file by name: their own folder is on ``sys.path``.
"""
import argparse
import os
import os.path as osp
import sys
from typing import Callable, Dict, Mapping, Optional, Tuple, Union

import torch
import torch.nn as nn

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)  # the checkout, when rsseg_ext is not pip-installed

from rsseg_ext.engine.checkpoint import plain_meta  # noqa: E402
from rsseg_ext.models.utils.weight_conversion import (ConversionError, ConversionReport,  # noqa: E402
                                                      check_against_model)
from rsseg_ext.models.utils.weight_loading import load_local_state_dict  # noqa: E402
from rsseg_ext.utils.fileio import TMP_MARK, OutputWriteError, atomic_write, describe_os_error  # noqa: E402
from rsseg_ext.utils.os_errors import os_error_of  # noqa: E402
from rsseg_ext.version import __version__  # noqa: E402

__all__ = ['REPO_ROOT', 'build_model_from_config', 'save_converted', 'read_source', 'converter_arg_parser',
           'run_converter']


def build_model_from_config(config: str, cfg_options: Optional[dict] = None) -> nn.Module:
    """The config's model with random weights (no ``init_weights``: nothing is read), BN instead of SyncBN."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    from rsseg_ext.engine.dist_utils import sync_bn_to_bn
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.model.pop('pretrained', None)
    sync_bn_to_bn(cfg.model)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(cfg.model)


def save_converted(state_dict: Mapping[str, torch.Tensor], dst: str, meta: Optional[dict] = None) -> str:
    """Write ``{'state_dict': ..., 'meta': ...}`` atomically (temp file, umask's mode, rename) after checking
    that it reloads with ``weights_only=True`` and all its keys. Raises :class:`OutputWriteError` (one line
    naming ``dst`` and the fix) when the OS refuses the write; ``dst`` is then untouched."""
    dst = osp.abspath(osp.expanduser(dst))
    try:
        os.makedirs(osp.dirname(dst), exist_ok=True)
    except OSError as e:
        raise OutputWriteError(describe_os_error(dst, e)) from e
    ckpt = {'state_dict': {k: v.detach().cpu().contiguous() for k, v in state_dict.items()},
            'meta': plain_meta(meta or {})}

    def reloads(tmp: str) -> None:
        back = torch.load(tmp, map_location='cpu', weights_only=True)  # what users' loaders will do
        if set(back['state_dict']) != set(ckpt['state_dict']):
            raise RuntimeError(f'{dst}: the written file does not hold the converted keys')

    try:
        with atomic_write(dst, check=reloads) as f:
            torch.save(ckpt, f)
    except RuntimeError as e:  # torch.save wraps the file's OSError; a file cut short fails to reload
        if isinstance(e, OutputWriteError):
            raise
        found = os_error_of(e, osp.join(osp.dirname(dst), f'.{osp.basename(dst)}{TMP_MARK}probe'),
                            sum(v.numel() * v.element_size() for v in ckpt['state_dict'].values()))
        if found is None:
            raise
        raise OutputWriteError(describe_os_error(dst, found)) from e
    return dst


def read_source(path: str, what: str, source_hint: Optional[str] = None, trusted: bool = False
                ) -> Dict[str, torch.Tensor]:
    """Read a source checkpoint (see :func:`load_local_state_dict`); a pickle that needs trust gets a hint."""
    try:
        return load_local_state_dict(path, what=what, source=source_hint, trusted=trusted)
    except RuntimeError as e:
        msg = str(e)
        if not trusted and ('weights_only' in msg.lower() or 'Unsupported global' in msg):
            raise RuntimeError(f'{e}\n  This file pickles Python objects (typical of Lightning/detectron2 training '
                               'checkpoints). If you trust where it comes from, rerun with --trust-checkpoint.'
                               ) from None
        raise


def converter_arg_parser(description: str, default_config: Optional[str] = None) -> argparse.ArgumentParser:
    """The arguments every converter shares: ``SRC DST [--config C] [--cfg-options ...] [--allow-partial]``."""
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('src', help='the source checkpoint (local file)')
    p.add_argument('dst', help='where to write the converted checkpoint ({"state_dict", "meta"}, .pth)')
    p.add_argument('--config', default=default_config,
                   help='build this config\'s model and report the target keys left unset'
                   + (f' (default: {default_config}; "none" skips the check)' if default_config else ''))
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='overrides for --config')
    p.add_argument('--allow-partial', action='store_true',
                   help='write the file even when keys are left unmatched (default: refuse, exit status 1)')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='unpickle SRC (weights_only=False): only for files from a source you trust')
    return p


def run_converter(args: argparse.Namespace, convert: Callable[[Dict[str, torch.Tensor], argparse.Namespace],
                                                              Tuple[Dict[str, torch.Tensor], ConversionReport]],
                  what: str, source_hint: Optional[str] = None,
                  target_model: Union[nn.Module, Callable[[], Optional[nn.Module]], None] = None,
                  ignore_missing: Optional[Callable[[str], bool]] = None, meta: Optional[dict] = None,
                  read: Optional[Callable[[str], Dict[str, torch.Tensor]]] = None) -> int:
    """Read SRC, convert, check against the target model (``--config`` or ``target_model``, a module or a callable
    returning one after the conversion), print the report and write DST when complete (or ``--allow-partial``).
    Returns the process exit status."""
    try:
        sd = read(args.src) if read is not None else read_source(args.src, what, source_hint,
                                                                   args.trust_checkpoint)
        out, report = convert(sd, args)
    except (ConversionError, RuntimeError, FileNotFoundError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    config = getattr(args, 'config', None)
    if callable(target_model) and not isinstance(target_model, nn.Module):
        target_model = target_model()
    if target_model is None and config and config.lower() != 'none':
        target_model = build_model_from_config(config, getattr(args, 'cfg_options', None))
    if target_model is not None:
        report.target = check_against_model(out, target_model, ignore_missing)
    print(report.summary())
    if not out:
        print('error: nothing was converted', file=sys.stderr)
        return 2
    if not report.ok and not args.allow_partial:
        print('error: not writing an incomplete conversion (pass --allow-partial to write it anyway)',
              file=sys.stderr)
        return 1
    info = dict(meta or {}, converted_from=osp.basename(args.src), converter=osp.basename(sys.argv[0]),
                rsseg_ext_version=__version__, torch_version=torch.__version__)
    if config and config.lower() != 'none':
        info['config'] = config
    try:
        path = save_converted(out, args.dst, info)
    except OutputWriteError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    print(f'wrote {path}')
    return 0

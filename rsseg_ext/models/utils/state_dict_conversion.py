"""Converting third-party checkpoints into our key layouts: the shared core of ``tools/model_converters/*``.

A converter is a list of :class:`KeyRule` s (regex over the source key -> replacement template, optional tensor
transform) plus :class:`DropRule` s (source keys left out on purpose, with the reason printed in the report).
:func:`convert_state_dict` applies them through :func:`~.weight_loading.map_keys` and returns a
:class:`ConversionReport`; :func:`check_against_model` loads the result into the target model with
:func:`~.weight_loading.load_weights` (the target keys left unset); :func:`save_converted` writes a checkpoint that
mmengine/mmseg load and that ``torch.load(weights_only=True)`` accepts; :func:`run_converter` is the common CLI.

Source files are read with :func:`~.weight_loading.load_local_state_dict` (local only, ``weights_only=True`` unless
the user passes ``--trust-checkpoint``).
"""
import argparse
import os
import os.path as osp
import re
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from ...engine.checkpoint import plain_meta
from ...utils.fileio import TMP_MARK, OutputWriteError, atomic_write, describe_os_error
from ...utils.os_errors import os_error_of
from .weight_loading import LoadReport, load_local_state_dict, load_weights, map_keys

__all__ = [
    'KeyRule', 'DropRule', 'KeyConverter', 'ConversionReport', 'ConversionError', 'convert_state_dict',
    'check_against_model', 'build_model_from_config', 'save_converted', 'read_source', 'expect_keys',
    'converter_arg_parser', 'run_converter', 'linear_to_conv1x1', 'flatten'
]

Transform = Callable[[torch.Tensor], torch.Tensor]


class ConversionError(ValueError):
    """The source file is not what the converter expects (wrong file, wrong layout)."""


def linear_to_conv1x1(t: torch.Tensor) -> torch.Tensor:
    """``nn.Linear`` weight ``(O, I)`` -> 1x1 ``nn.Conv2d`` weight ``(O, I, 1, 1)`` (same function per pixel)."""
    return t.reshape(*t.shape, 1, 1) if t.ndim == 2 else t


def conv1x1_to_linear(t: torch.Tensor) -> torch.Tensor:
    """1x1 ``nn.Conv2d`` weight ``(O, I, 1, 1)`` -> ``nn.Linear`` weight ``(O, I)``."""
    return t.reshape(t.shape[0], t.shape[1]) if t.ndim == 4 else t


def flatten(t: torch.Tensor) -> torch.Tensor:
    """e.g. torchvision's layer scale ``(C, 1, 1)`` -> mmpretrain's ``gamma`` ``(C,)``."""
    return t.reshape(-1)


@dataclass
class KeyRule:
    """``re.fullmatch(pattern, key)`` -> ``match.expand(template)`` (or ``template(match)`` when callable), with
    an optional tensor ``transform``."""
    pattern: str
    template: Union[str, Callable[['re.Match'], str]]
    transform: Optional[Transform] = None

    def __post_init__(self) -> None:
        self.regex = re.compile(self.pattern)


@dataclass
class DropRule:
    """Source keys matching ``pattern`` are left out on purpose; ``reason`` is printed in the report."""
    pattern: str
    reason: str

    def __post_init__(self) -> None:
        self.regex = re.compile(self.pattern)


class KeyConverter:
    """Ordered rules; the first that matches a key decides (drops are checked first)."""

    def __init__(self, rules: Sequence[KeyRule], drops: Sequence[DropRule] = (), prefix: Optional[str] = None,
                 out_prefix: str = '') -> None:
        self.rules, self.drops = list(rules), list(drops)
        self.prefix, self.out_prefix = prefix, out_prefix

    def drop_reason(self, key: str) -> Optional[str]:
        return next((d.reason for d in self.drops if d.regex.fullmatch(key)), None)

    def rule_for(self, key: str) -> Tuple[Optional[str], Optional[Transform]]:
        """The new key (with ``out_prefix``) and transform for a source key (``prefix`` already stripped)."""
        if self.drop_reason(key) is not None:
            return None, None
        for r in self.rules:
            m = r.regex.fullmatch(key)
            if m:
                new = r.template(m) if callable(r.template) else m.expand(r.template)
                return self.out_prefix + new, r.transform
        return None, None

    def __call__(self, key: str) -> Optional[str]:  # the map_keys interface
        return self.rule_for(key)[0]


@dataclass
class ConversionReport:
    """What a conversion did: source keys used / dropped on purpose / not matched, target keys left unset."""
    source: str = ''
    num_source: int = 0
    converted: Dict[str, str] = field(default_factory=dict)  # new key -> source key
    dropped: Dict[str, str] = field(default_factory=dict)  # source key -> reason
    unmatched: List[str] = field(default_factory=list)  # source keys no rule covers
    target: Optional[LoadReport] = None  # against the target model, when one was built
    notes: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every source key used or dropped on purpose, and the target (if checked) fully set."""
        return not self.unmatched and (self.target is None or (self.target.ok and not self.target.unexpected))

    def summary(self, limit: int = 15) -> str:

        def few(keys):
            keys = list(keys)
            return ', '.join(keys[:limit]) + (f' ... (+{len(keys) - limit})' if len(keys) > limit else '')

        lines = [f'source: {self.source} ({self.num_source} tensors)',
                 f'converted: {len(self.converted)} tensors']
        reasons: Dict[str, List[str]] = {}
        for k, why in self.dropped.items():
            reasons.setdefault(why, []).append(k)
        for why, keys in reasons.items():
            lines.append(f'dropped on purpose ({len(keys)}; {why}): {few(keys)}')
        lines.append(f'source keys not used ({len(self.unmatched)}): {few(self.unmatched) or "none"}')
        if self.target is not None:
            t = self.target
            lines.append(f'target keys left unset ({len(t.missing)}): {few(t.missing) or "none"}')
            lines.append(f'converted keys the target does not have ({len(t.unexpected)}): '
                         f'{few(t.unexpected) or "none"}')
            lines.append(f'shape mismatches ({len(t.mismatched)}): {few(t.mismatched) or "none"}')
        else:
            lines.append('target: not checked (pass --config to check against a model)')
        lines += [f'note: {n}' for n in self.notes]
        lines.append('result: ' + ('OK, every key matched' if self.ok else 'INCOMPLETE, see the lists above'))
        return '\n'.join(lines)


def expect_keys(state_dict: Mapping[str, torch.Tensor], patterns: Sequence[str], what: str, path: str = '') -> None:
    """Raise :class:`ConversionError` unless some key matches each regex in ``patterns`` (a layout fingerprint)."""
    keys = list(state_dict)
    missing = [p for p in patterns if not any(re.fullmatch(p, k) for k in keys)]
    if missing:
        sample = ', '.join(keys[:8]) or '(no tensors at all)'
        raise ConversionError(
            f'{path or "the source"} does not look like {what}: no key matches {missing}. Its keys start with: '
            f'{sample}. Check that you passed the right file to the right converter.')


def convert_state_dict(state_dict: Mapping[str, torch.Tensor], converter: KeyConverter,
                       source: str = '') -> Tuple[Dict[str, torch.Tensor], ConversionReport]:
    """Rename (and transform) ``state_dict`` with ``converter``; two source keys landing on one name is an error."""
    report = ConversionReport(source=source, num_source=len(state_dict))
    renamed = map_keys(state_dict, prefix=converter.prefix, key_map=converter)  # {new: tensor}
    out: Dict[str, torch.Tensor] = {}
    for k, v in state_dict.items():
        if converter.prefix and not k.startswith(converter.prefix):
            report.unmatched.append(k)
            continue
        rel = k[len(converter.prefix):] if converter.prefix else k
        why = converter.drop_reason(rel)
        if why is not None:
            report.dropped[k] = why
            continue
        new, transform = converter.rule_for(rel)
        if new is None:
            report.unmatched.append(k)
            continue
        if new in report.converted:
            raise ConversionError(f'two source keys map to {new!r}: {report.converted[new]!r} and {k!r} '
                                  '(a converter bug; please report it)')
        report.converted[new] = k
        t = renamed[new]
        out[new] = transform(t) if transform is not None else t
    return out, report


def check_against_model(state_dict: Mapping[str, torch.Tensor], model: nn.Module,
                        ignore_missing: Optional[Callable[[str], bool]] = None) -> LoadReport:
    """Load into ``model`` (a throw-away target) and report what is unset / unexpected / mismatched."""
    return load_weights(model, state_dict, strict=False, ignore_missing=ignore_missing,
                        what='converted weights', logger='silent')


def build_model_from_config(config: str, cfg_options: Optional[dict] = None) -> nn.Module:
    """The config's model with random weights (no ``init_weights``: nothing is read), BN instead of SyncBN."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    from ...engine.dist_utils import sync_bn_to_bn
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
    from ...version import __version__
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

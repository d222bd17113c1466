"""Key-rule mechanics of checkpoint conversion (the rules themselves are data, in :mod:`.key_maps`).

A converter is a list of :class:`KeyRule` s (regex over the source key -> replacement template, optional tensor
transform) plus :class:`DropRule` s (source keys left out on purpose, with the reason printed in the report).
:func:`convert_state_dict` applies them through :func:`~..weight_loading.map_keys` and returns a
:class:`ConversionReport`; :func:`check_against_model` loads the result into the target model with
:func:`~..weight_loading.load_weights` (the target keys left unset). The command line shared by
``tools/model_converters/*`` (reading SRC, writing DST) is ``tools/model_converters/_cli.py``.
"""
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from ..weight_loading import LoadReport, load_weights, map_keys

__all__ = [
    'KeyRule', 'DropRule', 'KeyConverter', 'ConversionReport', 'ConversionError', 'convert_state_dict',
    'check_against_model', 'expect_keys', 'linear_to_conv1x1', 'conv1x1_to_linear', 'flatten'
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

"""mmseg's common loss arguments, so a stock ``loss_decode=dict(type='CrossEntropyLoss', ...)`` becomes one of ours
by changing ``type`` alone.

mmseg 1.x ``CrossEntropyLoss`` takes ``use_sigmoid``, ``use_mask``, ``reduction``, ``class_weight``, ``loss_weight``,
``loss_name`` and ``avg_non_ignore`` (mmseg/models/losses/cross_entropy_loss.py); a config that swaps only ``type``
keeps the others. Each loss accepts those that mean something for it and refuses the rest here, with one sentence
naming the argument, instead of Python's "__init__() got an unexpected keyword argument".

``avg_non_ignore`` with ``class_weight``: our losses then take torch's weighted mean (``F.cross_entropy(weight=...)``:
the sum divided by the class weights of the non-ignored pixels) whatever the flag says, which is what mmseg's
``cross_entropy`` sets out to do (its ``avg_factor`` is the sum of the label weights); mmseg 1.2.2's own code stops
there with an IndexError as soon as a label equals ``ignore_index``.
"""
import inspect
from typing import Dict, Optional, Type

__all__ = ['reject_unsupported', 'require_softmax']

#: why an mmseg loss argument may not apply, for the error message (a loss can give its own reason)
_DEFAULT_REASONS = {
    'use_sigmoid': 'it has no sigmoid/softmax switch',
    'use_mask': 'it has no mask (one class per proposal) mode',
    'class_weight': 'it has no per-class weights',
    'avg_non_ignore': 'it has no choice of denominator',
    'reduction': "it always reduces to one value ('mean')",
}


def _accepted(cls: Type) -> str:
    params = inspect.signature(cls.__init__).parameters
    return ', '.join(n for n, p in params.items() if n != 'self' and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))


def reject_unsupported(cls: Type, kwargs: Dict, reasons: Optional[Dict[str, str]] = None) -> None:
    """Raise ``TypeError`` for the first argument in ``kwargs`` (those ``cls.__init__`` does not take).

    Args:
        cls: the loss class (its name and accepted arguments go into the message).
        kwargs: the leftover keyword arguments of ``__init__``.
        reasons: argument -> why it does not apply to this loss (defaults for mmseg's common ones).
    """
    if not kwargs:
        return
    name = sorted(kwargs)[0]
    why = (reasons or {}).get(name) or _DEFAULT_REASONS.get(name)
    why = f' ({why})' if why else ''
    raise TypeError(f'{cls.__name__} does not take {name}={kwargs[name]!r}{why}: remove it from the loss config. '
                    f'It takes: {_accepted(cls)}.')


def require_softmax(cls: Type, use_sigmoid: bool, use_mask: bool = False) -> None:
    """A softmax loss accepts mmseg's ``use_sigmoid=False`` / ``use_mask=False`` and refuses ``True``."""
    if use_sigmoid:
        raise ValueError(f'{cls.__name__} is a softmax loss: use_sigmoid=True is not supported (remove it, or use '
                         "mmseg's CrossEntropyLoss(use_sigmoid=True) / FocalLoss for a sigmoid loss).")
    if use_mask:
        raise ValueError(f'{cls.__name__} is a per-pixel softmax loss: use_mask=True is not supported (remove it).')

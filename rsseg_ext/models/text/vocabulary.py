"""Vocabularies for open-vocabulary segmentation: a list of class names in label-index order.

A vocabulary is given as a list/tuple of names or as a text file with one name per line (blank lines and lines
starting with ``#`` are skipped; the name is used verbatim in the prompt template).
"""
import os.path as osp
from typing import Sequence, Tuple, Union

__all__ = ['load_vocabulary', 'apply_vocabulary', 'resolve_vocabulary_path', 'VocabularyLike']

VocabularyLike = Union[str, Sequence[str]]


#: the directory holding ``configs/`` when rsseg_ext runs from a checkout (editable install): relative vocabulary
#: paths of the shipped configs ('configs/rskt_seg/vocabularies/x.txt') resolve from any working directory
PACKAGE_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
#: the same files in an installed wheel: rsseg_ext/.mim/configs/... (setup.py copies configs/ there)
MIM_ROOT = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), '.mim')


def resolve_vocabulary_path(path: str) -> str:
    """A vocabulary file path: as given (``~`` expanded) if it exists, else a relative path under
    :data:`PACKAGE_ROOT` or :data:`MIM_ROOT` if that exists; otherwise the path as given (the caller reports it)."""
    path = osp.expanduser(path)
    if osp.isfile(path) or osp.isabs(path):
        return path
    for root in (PACKAGE_ROOT, MIM_ROOT):
        candidate = osp.join(root, path)
        if osp.isfile(candidate):
            return candidate
    return path


def load_vocabulary(vocabulary: VocabularyLike, what: str = 'vocabulary') -> Tuple[str, ...]:
    """``['a', 'b']`` or ``'path/to/names.txt'`` -> ``('a', 'b')``. Raises with the path when a file is missing.

    A relative path is tried in the working directory, then under :data:`PACKAGE_ROOT` and :data:`MIM_ROOT`."""
    if isinstance(vocabulary, str):
        path = resolve_vocabulary_path(vocabulary)
        if not osp.isfile(path):
            tried = osp.abspath(path) if osp.isabs(path) else (f'{osp.abspath(path)} and '
                                                              f'{osp.join(PACKAGE_ROOT, path)}')
            raise FileNotFoundError(f'{what} file not found: {vocabulary} (tried {tried}). Give a text file with '
                                    f'one class name per line, in label-index order, or a list of names.')
        with open(path, encoding='utf-8') as f:
            names = tuple(line.strip() for line in f if line.strip() and not line.lstrip().startswith('#'))
        if not names:
            raise ValueError(f'{what} file {vocabulary} holds no class names')
        return names
    names = tuple(str(n) for n in vocabulary)
    if not names:
        raise ValueError(f'{what} is empty')
    return names


def apply_vocabulary(model, vocabulary: VocabularyLike, what: str = 'vocabulary') -> Tuple[str, ...]:
    """Give an open-vocabulary model the class names to segment (e.g. ``tools/infer_scene.py --vocabulary``).

    ``model.set_vocabulary(names)`` where the segmentor has it (RSKT-Seg: any number of names), else
    ``set_class_names(names)`` on every submodule that has it (LoVLANet's text classifier: the trained number of
    classes, renamed). ``model.dataset_meta`` gets the names, and a generated palette when the old one does not fit.

    Raises:
        ValueError: the model has a fixed class list (no receiver), or a receiver refuses the names.
    """
    import numpy as np
    names = load_vocabulary(vocabulary, what)
    setter = getattr(model, 'set_vocabulary', None)
    if callable(setter):
        setter(names)
        return names
    receivers = [m for m in model.modules() if callable(getattr(m, 'set_class_names', None))]
    if not receivers:
        raise ValueError(f'{type(model).__name__} has a fixed class list; {what} is for open-vocabulary models '
                         '(RSKT-Seg, LoVLANet)')
    for m in receivers:
        m.set_class_names(names)
    meta = dict(getattr(model, 'dataset_meta', None) or {})
    palette = meta.get('palette')
    if palette is None or len(palette) != len(names):
        meta['palette'] = np.random.RandomState(42).randint(0, 256, (len(names), 3)).tolist()
    meta['classes'] = names
    model.dataset_meta = meta
    return names

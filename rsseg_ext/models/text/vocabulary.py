"""Vocabularies for open-vocabulary segmentation: a list of class names in label-index order.

A vocabulary is given as a list/tuple of names or as a text file with one name per line (blank lines and lines
starting with ``#`` are skipped; the name is used verbatim in the prompt template).
"""
import os.path as osp
from typing import Sequence, Tuple, Union

__all__ = ['load_vocabulary', 'VocabularyLike']

VocabularyLike = Union[str, Sequence[str]]


def load_vocabulary(vocabulary: VocabularyLike, what: str = 'vocabulary') -> Tuple[str, ...]:
    """``['a', 'b']`` or ``'path/to/names.txt'`` -> ``('a', 'b')``. Raises with the path when a file is missing."""
    if isinstance(vocabulary, str):
        path = osp.expanduser(vocabulary)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} file not found: {vocabulary} (resolved to {osp.abspath(path)}). '
                                    f'Give a text file with one class name per line, in label-index order, or a '
                                    f'list of names.')
        with open(path, encoding='utf-8') as f:
            names = tuple(line.strip() for line in f if line.strip() and not line.lstrip().startswith('#'))
        if not names:
            raise ValueError(f'{what} file {vocabulary} holds no class names')
        return names
    names = tuple(str(n) for n in vocabulary)
    if not names:
        raise ValueError(f'{what} is empty')
    return names

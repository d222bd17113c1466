"""Split handling shared by the ultra-high-resolution converters (DeepGlobe, Inria).

The published protocols are id lists: GLNet's ``train.txt`` / ``crossvali.txt`` / ``test.txt`` for DeepGlobe
(454 / 207 / 142) and FCtL's ``txt_1/{train,crossvali,test}.txt`` for Inria (126 / 27 / 27). ``--split-lists DIR``
reads them (lines may be ids or file names such as ``123_sat.jpg`` / ``austin1_sat.tif``; ``crossvali.txt`` is the
validation list); listed images missing from a partial download are named in a warning and skipped. Without
them a seeded random split with the protocol's sizes is written and flagged as such.
"""
import os.path as osp
import re
from typing import Dict, List, Sequence

import numpy as np

import _common
from _sources import warn

ConversionError = _common.ConversionError

LIST_FILES = {'train': ('train.txt', ), 'val': ('crossvali.txt', 'val.txt'), 'test': ('test.txt', )}
_SUFFIX = re.compile(r'(_sat|_mask)?\.(jpg|jpeg|png|tif|tiff)$', re.IGNORECASE)


def list_id(line: str) -> str:
    """``'some/dir/123_sat.jpg'`` -> ``'123'``; ``'austin1'`` -> ``'austin1'``."""
    return _SUFFIX.sub('', osp.basename(line.strip()))


def read_split_lists(folder: str, available: Sequence[str], dataset: str = '') -> Dict[str, List[str]]:
    """Ids per split from the published lists in ``folder``, restricted to ``available``: listed ids that are not
    there (a partial download) are named in a warning and left out; nothing listed being there is an error."""
    if not osp.isdir(folder):
        raise ConversionError(f'--split-lists {folder} is not a folder (expected train.txt, crossvali.txt or '
                              'val.txt, test.txt)')
    have, out, listed = set(available), {}, {}
    for split, names in LIST_FILES.items():
        path = next((osp.join(folder, n) for n in names if osp.isfile(osp.join(folder, n))), None)
        if path is None:
            raise ConversionError(f'{folder} has no {" or ".join(names)} (the {split} list)')
        listed[split] = [list_id(line) for line in open(path) if line.strip()]
        out[split] = [i for i in listed[split] if i in have]
    seen: Dict[str, str] = {}
    for split, ids in listed.items():
        for i in ids:
            if i in seen:
                raise ConversionError(f'image {i} is listed in both {seen[i]} and {split}')
            seen[i] = split
    missing = sorted(set(seen) - have)
    if not any(out.values()):
        raise ConversionError(f'none of the {len(seen)} images listed in {folder} is in the input, e.g. '
                              f'{missing[:3]}; the lists and the dataset do not match')
    if missing:
        warn(f'{dataset}: {len(missing)} image(s) of the published lists are not in the input (partial '
             f'download?), converting the rest: {", ".join(missing)}')
    unlisted = sorted(have - set(seen))
    if unlisted:
        warn(f'{dataset}: {len(unlisted)} image(s) are in no published list and are not converted: '
             f'{", ".join(unlisted[:50])}{" ..." if len(unlisted) > 50 else ""}')
    return out


def random_split(ids: Sequence[str], sizes: Dict[str, int], seed: int = 0) -> Dict[str, List[str]]:
    """Seeded split of ``ids`` with the protocol's proportions (exactly ``sizes`` when the counts match)."""
    ids = sorted(ids)
    total = sum(sizes.values())
    order = [ids[i] for i in np.random.default_rng(seed).permutation(len(ids))]
    out, start = {}, 0
    names = list(sizes)
    for k, split in enumerate(names):
        n = len(ids) - start if k == len(names) - 1 else int(round(len(ids) * sizes[split] / total))
        out[split] = sorted(order[start:start + n])
        start += n
    return out


def choose_splits(ids: Sequence[str], split_lists: str, sizes: Dict[str, int], seed: int, protocol: str,
                  lists: str) -> Dict[str, List[str]]:
    """The published lists in ``split_lists`` if given, else a seeded random split of ``sizes`` that says it is not
    the ``protocol`` (``lists``: what to pass to reproduce published numbers)."""
    if split_lists:
        return read_split_lists(split_lists, ids, protocol)
    print(f'no --split-lists: wrote a seeded random split (seed {seed}), NOT the {protocol} protocol; pass {lists} '
          'to reproduce published numbers')
    return random_split(ids, sizes, seed)


def write_split_lists(out_dir: str, splits: Dict[str, List[str]]) -> None:
    """``OUT/splits/<split>.txt`` (ids) for each split and ``OUT/splits/all.txt`` (``<split>/<id>``)."""
    for split, ids in splits.items():
        _common.write_split_list(osp.join(out_dir, 'splits', f'{split}.txt'), ids)
    _common.write_split_list(osp.join(out_dir, 'splits', 'all.txt'),
                             [f'{split}/{i}' for split, ids in splits.items() for i in ids])

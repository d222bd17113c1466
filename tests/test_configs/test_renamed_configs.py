"""Config paths renamed to OpenMMLab names keep working for one release: each old path is a thin child
(``_base_ = ['./<new name>.py']``, nothing else) that resolves to exactly the renamed config."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT

MARK = 'kept for one release'
CHILDREN = sorted(p for p in glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
                  if MARK in open(p, encoding='utf-8').read())


def _target(child: str) -> str:
    code = [ln for ln in open(child, encoding='utf-8').read().splitlines() if ln.strip() and not ln.startswith('#')]
    assert len(code) == 1, f'{child}: a renamed path holds only its _base_ line, found {code}'
    m = re.fullmatch(r"_base_ = \['(\./[\w/.-]+\.py)'\]", code[0])
    assert m, f'{child}: {code[0]!r} is not a thin child'
    return osp.normpath(osp.join(osp.dirname(child), m.group(1)))


def test_the_paths_users_type_are_kept():
    names = {osp.relpath(p, REPO_ROOT) for p in CHILDREN}
    assert 'configs/d2ls/d2ls_convnext_loveda.py' in names  # tools/dist_train.sh configs/d2ls/d2ls_convnext_loveda.py 8


@pytest.mark.parametrize('child', CHILDREN, ids=[osp.relpath(p, REPO_ROOT) for p in CHILDREN])
def test_old_path_resolves_to_the_renamed_config(child):
    target = _target(child)
    assert osp.isfile(target), f'{child} names {target}, which does not exist'
    assert MARK not in open(target, encoding='utf-8').read(), f'{child}: {target} is itself a renamed path'
    old = Config.fromfile(child, import_custom_modules=False).to_dict()
    new = Config.fromfile(target, import_custom_modules=False).to_dict()
    assert old == new

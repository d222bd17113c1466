"""data_converters/_sources.py: one member index for archives, their folder and extracted trees."""
import os.path as osp
import re
import sys
import zipfile

import pytest

from conftest import REPO_ROOT

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import _sources  # noqa: E402

from _common import ConversionError  # noqa: E402


def _tree(tmp_path):
    root = tmp_path / 'raw'
    (root / 'pack' / 'top' / 'img').mkdir(parents=True)
    (root / 'pack' / 'top' / 'img' / 'a.tif').write_bytes(b'tree-a')
    (root / 'pack' / '.a.tif.part').write_bytes(b'partial copy')  # hidden: never read
    with zipfile.ZipFile(root / 'arch.zip', 'w') as zf:
        zf.writestr('top/lab/a.png', b'zip-a')
        zf.writestr('top/lab/', b'')
    return root


def test_members_of_a_folder_its_zips_and_files(tmp_path):
    root = _tree(tmp_path)
    members = _sources.list_members(str(root), 'X', 'http://x')
    assert sorted(m.path for m in members) == ['arch/top/lab/a.png', 'pack/top/img/a.tif']
    by_path = {m.path: m for m in members}
    assert _sources.read_bytes(by_path['arch/top/lab/a.png'].src) == b'zip-a'
    assert _sources.read_bytes(by_path['pack/top/img/a.tif'].src) == b'tree-a'
    assert by_path['arch/top/lab/a.png'].where.endswith('arch.zip:top/lab/a.png')
    assert _sources.raster_src(by_path['arch/top/lab/a.png'].src).startswith('zip://')
    roles = _sources.assign(members, {'img': re.compile(r'/img/(\w+)\.tif$'), 'lab': re.compile(r'/lab/(\w+)\.png$')})
    assert set(roles['img']) == set(roles['lab']) == {'a'}
    # the zip itself reads the same members
    assert [m.path for m in _sources.list_members(str(root / 'arch.zip'), 'X', 'http://x')] == ['arch/top/lab/a.png']


def test_ambiguous_members_are_errors_naming_them(tmp_path):
    root = _tree(tmp_path)
    members = _sources.list_members(str(root), 'X', 'http://x')
    with pytest.raises(ConversionError, match=r'arch\.zip:top/lab/a\.png could be both the lab and the any'):
        _sources.assign(members, {'lab': re.compile(r'/lab/(\w+)'), 'any': re.compile(r'/(a)\.\w+$')},
                        exclusive=True)
    with pytest.raises(ConversionError, match=r'two files claim the x of a: .*arch\.zip:top/lab/a\.png and .*/img/a\.tif'):
        _sources.assign(members, {'x': re.compile(r'/(a)\.\w+$')})


def test_wrong_inputs(tmp_path):
    with pytest.raises(ConversionError, match=r'nothing not found\. Download X from http://x'):
        _sources.list_members(str(tmp_path / 'nothing'), 'X', 'http://x')
    (tmp_path / 'f.tar').write_bytes(b'x')
    with pytest.raises(ConversionError, match=r'f\.tar is not a zip archive'):
        _sources.list_members(str(tmp_path / 'f.tar'), 'X', 'http://x')

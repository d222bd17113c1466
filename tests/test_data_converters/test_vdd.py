"""data_converters/vdd.py on a fake official release (tests/data/vdd/data.py): grey index labels."""
import os.path as osp
import subprocess
import sys
import zipfile

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_fake_data

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import _pairs  # noqa: E402
import vdd  # noqa: E402

ConversionError = _pairs.ConversionError
_fake = load_fake_data('vdd')


@pytest.fixture()
def raw(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    return str(root), _fake.make_release(str(root))


def test_cli(raw, tmp_path):
    root, truth = raw
    out = str(tmp_path / 'out')
    res = subprocess.run([sys.executable, osp.join(REPO_ROOT, 'data_converters', 'vdd.py'), root, '-o', out,
                          '--nproc', '1'], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert 'Summary' in res.stdout and 'MISMATCH' in res.stdout  # 4 fake images vs the official 400
    lab = cv2.imread(osp.join(out, 'ann_dir', 'test', 'te_00000.png'), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(lab, truth[('test', 'te_00000')][1]) and lab[0, 0] == 255
    assert sorted(open(osp.join(out, 'splits', 'all.txt')).read().split()) == \
        ['test/te_00000', 'train/tr_00000', 'train/tr_00001', 'val/va_00000']


def test_bad_label_value(raw, tmp_path):
    root, _ = raw
    zpath = osp.join(root, 'VDD.zip')
    with zipfile.ZipFile(zpath) as zf:
        items = [(i, zf.read(i)) for i in zf.infolist()]
    bad = np.zeros((30, 40), np.uint8)
    bad[2, 3] = 9
    with zipfile.ZipFile(zpath, 'w') as zf:
        for info, data in items:
            zf.writestr(info, _fake.encode(bad, 'PNG') if info.filename == 'VDD/val/gt/va_00000.png' else data)
    with pytest.raises(ConversionError, match=r'va_00000\.png: label value 9 at \(row 2, col 3\)'):
        _pairs.convert(vdd.VDD(), root, str(tmp_path / 'out'))
    res = subprocess.run([sys.executable, osp.join(REPO_ROOT, 'data_converters', 'vdd.py'), root, '-o',
                          str(tmp_path / 'o2')], capture_output=True, text=True)
    assert res.returncode != 0 and 'vdd: ' in res.stderr and 'label value 9' in res.stderr

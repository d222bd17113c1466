"""data_converters/vdd.py on a fake official release (tests/data/vdd/data.py): grey index labels."""
import os
import os.path as osp
import subprocess
import sys
import zipfile

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_fake_data
from provenance import assert_window

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


def _check_output(out: str, truth: dict) -> dict:
    """Images are the decoded src/ JPEGs (never the same-named gt/ PNG), labels the gt class ids (255 kept);
    split lists = what is on disk, for every split; all.txt their union."""
    lists = {}
    for split in ('train', 'val', 'test'):
        names = open(osp.join(out, 'splits', f'{split}.txt')).read().split()
        assert sorted(f[:-4] for f in os.listdir(osp.join(out, 'img_dir', split))) == names and names
        for n in names:
            img, idx = truth[(split, n)]
            got = cv2.imread(osp.join(out, 'img_dir', split, f'{n}.png'))[..., ::-1]
            assert_window(got, img, 0, 0, f'image {n}', {'gt': np.repeat(idx[..., None], 3, axis=2)})
            assert np.array_equal(cv2.imread(osp.join(out, 'ann_dir', split, f'{n}.png'), cv2.IMREAD_UNCHANGED), idx)
        lists[split] = names
    every = open(osp.join(out, 'splits', 'all.txt')).read().split()
    assert sorted(every) == sorted(f'{s}/{n}' for s in lists for n in lists[s])
    return lists


@pytest.mark.parametrize('form', ['archive', 'folder', 'tree'])
def test_every_input_form(tmp_path, form):
    root = tmp_path / 'raw'
    root.mkdir()
    truth = _fake.make_release(str(root), form='tree' if form == 'tree' else 'zip')
    out = str(tmp_path / 'out')
    counts, expected = _pairs.convert(vdd.VDD(), str(root) if form == 'folder' else truth['path'], out)
    assert counts == dict(train=2, val=1, test=1) and expected == dict(train=280, val=80, test=40)
    _check_output(out, truth)


def test_partial_download(tmp_path, capsys):
    root = tmp_path / 'raw'
    root.mkdir()
    truth = _fake.make_release(str(root), drop_labels=['tr_00001'])
    out = str(tmp_path / 'out')
    counts, _ = _pairs.convert(vdd.VDD(), str(root), out)
    err = capsys.readouterr().err
    assert counts == dict(train=1, val=1, test=1)
    assert '3 of the official 400 images found' in err and 'VDD/train/src/tr_00001.JPG' in err
    _check_output(out, truth)


def test_cli(raw, tmp_path):
    root, truth = raw
    out = str(tmp_path / 'out')
    res = subprocess.run([sys.executable, osp.join(REPO_ROOT, 'data_converters', 'vdd.py'), root, '-o', out,
                          '--nproc', '1'], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert 'Summary' in res.stdout and 'MISMATCH' in res.stdout  # 4 fake images vs the official 400
    lab = cv2.imread(osp.join(out, 'ann_dir', 'test', 'te_00000.png'), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(lab, truth[('test', 'te_00000')][1]) and lab[0, 0] == 255
    _check_output(out, truth)
    assert sorted(open(osp.join(out, 'splits', 'all.txt')).read().split()) == \
        ['test/te_00000', 'train/tr_00000', 'train/tr_00001', 'val/va_00000']


def test_bad_label_value(raw, tmp_path):
    root, truth = raw
    zpath = truth['path']
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

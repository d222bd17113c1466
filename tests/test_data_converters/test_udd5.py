"""data_converters/udd5.py on fake UDD5 releases built from the official description (tests/data/udd5/data.py)."""
import os
import os.path as osp
import sys
import zipfile

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_fake_data
from provenance import assert_window, tile_origin, modes_under_umask

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import _pairs  # noqa: E402
import udd5  # noqa: E402

from _common import ConversionError  # noqa: E402
_fake = load_fake_data('udd5')


def _check_output(out: str, truth: dict, splits=('train', 'val'), tiles: bool = False) -> dict:
    """Images (tiles) are the decoded src/ JPEGs at the right place -- never the same-named visualization/ or gt/
    PNGs --, labels the gt class ids; split lists = what is on disk; all.txt their union."""
    lists = {}
    for split in splits:
        names = open(osp.join(out, 'splits', f'{split}.txt')).read().split()
        assert sorted(f[:-4] for f in os.listdir(osp.join(out, 'img_dir', split))) == names and names
        for n in names:
            src, y, x = tile_origin(n) if tiles else (n, 0, 0)
            img, idx = truth[(split, src)]
            got = cv2.imread(osp.join(out, 'img_dir', split, f'{n}.png'))[..., ::-1]
            assert_window(got, img, y, x, f'image {n}', {'visualization': np.array(_fake.COLOURS, np.uint8)[idx]})
            lab = cv2.imread(osp.join(out, 'ann_dir', split, f'{n}.png'), cv2.IMREAD_UNCHANGED)
            assert_window(lab, idx, y, x, f'label {n}')
        lists[split] = names
    every = open(osp.join(out, 'splits', 'all.txt')).read().split()
    assert sorted(every) == sorted(f'{s}/{n}' for s in lists for n in lists[s])
    return lists


@pytest.mark.parametrize('form', ['archive', 'folder', 'tree', 'colour-gt'])
def test_every_input_form(tmp_path, form):
    root = tmp_path / 'raw'
    root.mkdir()
    truth = _fake.make_release(str(root), form='tree' if form == 'tree' else 'zip', colour_gt=form == 'colour-gt')
    arg = truth['path'] if form in ('archive', 'tree') else str(root)
    out = str(tmp_path / 'out')
    counts, expected = _pairs.convert(udd5.UDD5(), arg, out, nproc=2 if form == 'folder' else 1)
    assert counts == dict(train=3, val=2) and expected == dict(train=120, val=40)
    lists = _check_output(out, truth)
    assert lists['train'] == ['DJI_0050', 'DJI_0051', 'DJI_0052']


@pytest.mark.parametrize('umask,mode', [(0o022, 0o644), (0o027, 0o640)])
def test_outputs_respect_the_umask(tmp_path, umask, mode):
    root = tmp_path / 'raw'
    root.mkdir()
    _fake.make_release(str(root))
    out = str(tmp_path / 'out')
    assert modes_under_umask(lambda: _pairs.convert(udd5.UDD5(), str(root), out, tile=20), out, umask) == {mode}


def test_tiles(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    truth = _fake.make_release(str(root))
    out = str(tmp_path / 'tiles')
    counts, _ = _pairs.convert(udd5.UDD5(), str(root), out, tile=20, stride=20)
    assert counts['val tiles'] == 2 * 4  # 30x40 -> rows at 0, 10 and cols at 0, 20
    _check_output(out, truth, tiles=True)


def test_partial_download(tmp_path, capsys):
    root = tmp_path / 'raw'
    root.mkdir()
    truth = _fake.make_release(str(root), drop_labels=['DJI_0030'], drop_images=['DJI_0051'])
    out = str(tmp_path / 'out')
    counts, _ = _pairs.convert(udd5.UDD5(), str(root), out)
    err = capsys.readouterr().err
    assert counts == dict(train=2, val=1)
    assert '3 of the official 160 images found (partial download?)' in err
    assert 'images without label: ' in err and 'UDD5/val/src/DJI_0030.JPG' in err
    assert 'labels without image: ' in err and 'UDD5/train/gt/DJI_0051.png' in err
    _check_output(out, truth)


def test_bad_inputs(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    truth = _fake.make_release(str(root))
    zpath = truth['path']
    with zipfile.ZipFile(zpath, 'w') as zf:
        zf.writestr('UDD5/readme.txt', 'x')
        zf.writestr('UDD5/train/visualization/DJI_0050.png', _fake.encode(np.zeros((4, 4, 3), np.uint8), 'PNG'))
    with pytest.raises(ConversionError, match=r'no usable UDD5 image/label pairs: found 0 image\(s\) and 0 label'):
        _pairs.convert(udd5.UDD5(), str(root), str(tmp_path / 'o2'))
    os.remove(zpath)
    with pytest.raises(ConversionError, match=r'not found. Download UDD5 from https://github.com/MarcWong'):
        _pairs.convert(udd5.UDD5(), str(tmp_path / 'nothing'), str(tmp_path / 'o3'))

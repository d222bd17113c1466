"""data_converters/udd5.py on a fake official release (tests/data/udd5/data.py)."""
import os
import os.path as osp
import sys
import zipfile

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_fake_data

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import _pairs  # noqa: E402
import udd5  # noqa: E402

from _light import TMP_MARK, ConversionError  # noqa: E402
_fake = load_fake_data('udd5')


@pytest.fixture()
def raw(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    return str(root), _fake.make_release(str(root))


def test_convert_whole_and_tiles(raw, tmp_path):
    root, truth = raw
    out = str(tmp_path / 'out')
    counts, expected = _pairs.convert(udd5.UDD5(), root, out, nproc=2)
    assert counts == dict(train=3, val=2) and expected == dict(train=120, val=40)
    img, idx = truth[('val', 'DJI_0031')]
    lab = cv2.imread(osp.join(out, 'ann_dir', 'val', 'DJI_0031.png'), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(lab, idx)  # colours -> Vegetation, Building, Road, Vehicle, Other
    got = cv2.imread(osp.join(out, 'img_dir', 'val', 'DJI_0031.png'))[..., ::-1].astype(int)
    assert np.abs(got - img).max() <= 3  # JPEG decoders may differ by a rounding step
    assert open(osp.join(out, 'splits', 'train.txt')).read().split() == ['DJI_0050', 'DJI_0051', 'DJI_0052']
    out2 = str(tmp_path / 'tiles')
    counts, _ = _pairs.convert(udd5.UDD5(), root, out2, tile=20, stride=20)
    assert counts['val tiles'] == 2 * 4  # 30x40 -> rows at 0, 10 and cols at 0, 20
    lab = cv2.imread(osp.join(out2, 'ann_dir', 'train', 'DJI_0050_10_20.png'), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(lab, truth[('train', 'DJI_0050')][1][10:30, 20:40])


def test_bad_inputs(raw, tmp_path):
    root, _ = raw
    zpath = osp.join(root, 'UDD5.zip')
    with zipfile.ZipFile(zpath) as zf:
        items = [(i, zf.read(i)) for i in zf.infolist() if i.filename != 'UDD5/val/gt/DJI_0030.png']
    with zipfile.ZipFile(zpath, 'w') as zf:
        for info, data in items:
            zf.writestr(info, data)
    with pytest.raises(ConversionError, match=r'image UDD5/val/src/DJI_0030\.JPG has no label'):
        _pairs.convert(udd5.UDD5(), root, str(tmp_path / 'o1'))
    with zipfile.ZipFile(zpath, 'w') as zf:
        zf.writestr('UDD5/readme.txt', 'x')
    with pytest.raises(ConversionError, match='not the official UDD5 release'):
        _pairs.convert(udd5.UDD5(), root, str(tmp_path / 'o2'))
    os.remove(zpath)
    with pytest.raises(ConversionError, match=r'UDD5\.zip not found. Download it from https://github.com/MarcWong'):
        _pairs.convert(udd5.UDD5(), root, str(tmp_path / 'o3'))

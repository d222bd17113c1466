"""data_converters/dlrsd.py on fake UC Merced + DLRSD archives (tests/data/dlrsd/data.py)."""
import os
import os.path as osp
import sys
import zipfile

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_fake_data
from provenance import assert_window, tile_origin

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import dlrsd  # noqa: E402
import _pairs  # noqa: E402

from _common import TMP_MARK, ConversionError  # noqa: E402
_fake = load_fake_data('dlrsd')


@pytest.fixture()
def raw(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    return str(root), _fake.make_archives(str(root))


def _rewrite(zpath, member, data):
    with zipfile.ZipFile(zpath) as zf:
        items = [(i, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(zpath, 'w') as zf:
        for info, d in items:
            zf.writestr(info, data if info.filename == member else d)


def _check_output(out: str, truth: dict, tiles: bool = False) -> dict:
    """Every image (tile) on disk is the right window of its UC Merced image -- never the same-named label --,
    every label the palette indices - 1; the split lists list exactly what is on disk, all.txt their union."""
    lists = {}
    for split in ('train', 'val'):
        names = open(osp.join(out, 'splits', f'{split}.txt')).read().split()
        assert sorted(f[:-4] for f in os.listdir(osp.join(out, 'img_dir', split))) == names
        assert sorted(f[:-4] for f in os.listdir(osp.join(out, 'ann_dir', split))) == names
        for n in names:
            src, y, x = (tile_origin(n) if tiles else (n, 0, 0))
            img, idx = truth[src]
            label_rgb = np.array(_fake.PALETTE, np.uint8)[idx]
            got = cv2.imread(osp.join(out, 'img_dir', split, f'{n}.png'))[..., ::-1]
            assert_window(got, img, y, x, f'image {n}', {'label': label_rgb})
            lab = cv2.imread(osp.join(out, 'ann_dir', split, f'{n}.png'), cv2.IMREAD_UNCHANGED)
            assert_window(lab, idx, y, x, f'label {n}')
        lists[split] = names
    every = open(osp.join(out, 'splits', 'all.txt')).read().split()
    assert sorted(every) == sorted(f'{s}/{n}' for s in lists for n in lists[s])
    return lists


def test_convert_split_labels_resume(raw, tmp_path):
    root, truth = raw
    out = str(tmp_path / 'out')
    counts, expected = _pairs.convert(dlrsd.DLRSD(), root, out, nproc=2)
    assert counts == dict(train=16, val=4)  # numbers 04 and 09 of each category -> val
    assert expected == dict(train=1680, val=420)
    _check_output(out, truth)  # palette colours -> OVRSISBench indices
    val = open(osp.join(out, 'splits', 'val.txt')).read().split()
    assert val == ['airplane04', 'airplane09', 'harbor04', 'harbor09']
    every = open(osp.join(out, 'splits', 'all.txt')).read().split()
    assert len(every) == 20 and 'val/harbor09' in every and 'train/harbor00' in every
    # resume: a lost output and a partial temp file of an interrupted run
    keep = osp.join(out, 'img_dir', 'train', 'harbor00.png')
    mtime = os.stat(keep).st_mtime_ns
    os.remove(osp.join(out, 'ann_dir', 'val', 'harbor04.png'))
    open(osp.join(out, 'ann_dir', 'val', f'.x.png{TMP_MARK}abc'), 'wb').write(b'partial')
    counts, _ = _pairs.convert(dlrsd.DLRSD(), root, out)
    assert counts == dict(train=16, val=4)
    assert os.stat(keep).st_mtime_ns == mtime  # done items are skipped
    assert osp.isfile(osp.join(out, 'ann_dir', 'val', 'harbor04.png'))
    assert not [f for _, _, fs in os.walk(out) for f in fs if TMP_MARK in f]


def test_tiles(raw, tmp_path):
    root, truth = raw
    out = str(tmp_path / 'out')
    counts, _ = _pairs.convert(dlrsd.DLRSD(), root, out, tile=16, stride=16)
    assert counts['train'] == 16 and counts['train tiles'] == 64  # 24 px -> windows at 0 and 8 per axis
    lab = cv2.imread(osp.join(out, 'ann_dir', 'val', 'harbor09_8_8.png'), cv2.IMREAD_UNCHANGED)
    assert lab.shape == (16, 16) and np.array_equal(lab, truth['harbor09'][1][8:24, 8:24])
    _check_output(out, truth, tiles=True)  # harbor07 (24x20): rows {0, 4}
    assert osp.isfile(osp.join(out, '.progress', 'val', 'harbor09.done'))
    assert len(open(osp.join(out, 'splits', 'val.txt')).read().split()) == 16


def test_bad_inputs(raw, tmp_path):
    root, _ = raw
    lab_zip, img_zip = osp.join(root, 'DLRSD.zip'), osp.join(root, 'UCMerced_LandUse.zip')
    # a colour that is not in the palette
    bad = np.full((24, 24, 3), 255, np.uint8)  # (255, 255, 0) is 'pavement'
    bad[..., 2] = 0
    bad[5, 7] = (1, 2, 3)
    _rewrite(lab_zip, 'DLRSD/Images/harbor/harbor02.png', _fake.encode(bad, 'PNG'))
    with pytest.raises(ConversionError, match=r'harbor02\.png: colour \(1, 2, 3\) at \(row 5, col 7\)'):
        _pairs.convert(dlrsd.DLRSD(), root, str(tmp_path / 'o1'))
    assert not [f for _, _, fs in os.walk(str(tmp_path / 'o1')) for f in fs if TMP_MARK in f]
    # a label whose size differs from its image
    _rewrite(lab_zip, 'DLRSD/Images/harbor/harbor02.png', _fake.encode(np.zeros((20, 24), np.uint8), 'PNG',
                                                                         palette=True))
    with pytest.raises(ConversionError, match=r'harbor02\.tif is 24x24 but its label .*harbor02\.png is 24x20'):
        _pairs.convert(dlrsd.DLRSD(), root, str(tmp_path / 'o2'))
    # a corrupt image
    _rewrite(img_zip, 'UCMerced_LandUse/Images/airplane/airplane01.tif', b'not a tiff')
    with pytest.raises(ConversionError, match=r'corrupt or unreadable image: .*airplane01\.tif'):
        _pairs.convert(dlrsd.DLRSD(), root, str(tmp_path / 'o3'))
    # a missing and a wrong archive: no labels at all is the one error
    os.remove(lab_zip)
    with pytest.raises(ConversionError, match=r'no usable DLRSD image/label pairs: found 20 image\(s\) and 0 label'):
        _pairs.convert(dlrsd.DLRSD(), root, str(tmp_path / 'o4'))
    with zipfile.ZipFile(lab_zip, 'w') as zf:
        zf.writestr('readme.txt', 'x')
    with pytest.raises(ConversionError, match='no usable DLRSD image/label pairs'):
        _pairs.convert(dlrsd.DLRSD(), root, str(tmp_path / 'o5'))
    open(lab_zip, 'wb').write(b'garbage')
    with pytest.raises(ConversionError, match='not a valid zip archive'):
        _pairs.convert(dlrsd.DLRSD(), root, str(tmp_path / 'o6'))


@pytest.mark.parametrize('forms', [('zip', 'tree'), ('tree', 'zip'), ('tree', 'tree')])
def test_archives_and_extracted_folders(tmp_path, forms):
    root = tmp_path / 'raw'
    root.mkdir()
    truth = _fake.make_archives(str(root), image_form=forms[0], label_form=forms[1])
    out = str(tmp_path / 'out')
    counts, _ = _pairs.convert(dlrsd.DLRSD(), str(root), out)
    assert counts == dict(train=16, val=4)
    _check_output(out, truth)


def test_partial_download(tmp_path, capsys):
    root = tmp_path / 'raw'
    root.mkdir()
    truth = _fake.make_archives(str(root), drop_labels=['airplane02'], drop_images=['harbor04'])
    out = str(tmp_path / 'out')
    counts, expected = _pairs.convert(dlrsd.DLRSD(), str(root), out)
    err = capsys.readouterr().err
    assert counts == dict(train=15, val=3) and expected == dict(train=1680, val=420)
    # the official 2,100 names are known: the 2,080 never downloaded are listed, the orphans named
    assert '2080 official images not found (partial download?), converting the 18 there: agricultural/' in err
    assert 'images without label: ' in err and 'airplane02.tif' in err
    assert 'labels without image: ' in err and 'harbor04.png' in err
    lists = _check_output(out, truth)
    assert 'airplane02' not in lists['train'] and 'harbor04' not in lists['val']

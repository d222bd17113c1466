"""data_converters/uavid.py on a fake official release (tests/data/uavid/data.py)."""
import os
import os.path as osp
import re
import sys
import zipfile

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_fake_data

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import uavid  # noqa: E402

from _common import TMP_MARK, ConversionError  # noqa: E402

_fake = load_fake_data('uavid')


@pytest.fixture()
def raw(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    return str(root), _fake.make_release(str(root))


def check_provenance(out, truth):
    """Every output frame (and label) against the fake by pixels."""
    n = 0
    for (split, seq, frame), (img, idx) in truth.items():
        path = osp.join(out, 'img_dir', split, f'{seq}_{frame}.png')
        if not osp.isfile(path):
            continue
        assert np.array_equal(cv2.imread(path)[..., ::-1], img), f'{path} is not its frame'
        if split != 'test':
            lab = cv2.imread(osp.join(out, 'ann_dir', split, f'{seq}_{frame}.png'), cv2.IMREAD_UNCHANGED)
            assert np.array_equal(lab, idx.astype(np.uint8)), f'{path}: not its label'
        n += 1
    return n


def test_frames_preset(raw, tmp_path):
    root, truth = raw
    out = str(tmp_path / 'out')
    counts, expected = uavid.convert(root, out, nproc=2)
    assert counts == dict(train=4, val=2, test=1)
    assert expected == uavid.EXPECTED_FRAMES
    img, idx = truth[('train', 'seq2', '000100')]
    lab = cv2.imread(osp.join(out, 'ann_dir', 'train', 'seq2_000100.png'), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(lab, idx.astype(np.uint8))  # colours -> dataset indices (clutter = 7)
    assert np.array_equal(cv2.imread(osp.join(out, 'img_dir', 'train', 'seq2_000100.png'))[..., ::-1], img)
    assert os.listdir(osp.join(out, 'img_dir', 'test')) == ['seq21_000000.png']
    assert not osp.exists(osp.join(out, 'ann_dir', 'test'))
    tv = open(osp.join(out, 'splits', 'train_val.txt')).read().split()
    assert len(tv) == 6 and 'seq16_000100' in tv
    assert check_provenance(out, truth) == 7
    for split in ('train', 'val', 'test'):
        assert open(osp.join(out, 'splits', f'{split}.txt')).read().split() == \
            sorted(f[:-4] for f in os.listdir(osp.join(out, 'img_dir', split)))


def test_images_by_folder_not_basename(raw, tmp_path, monkeypatch):
    """Plant frame-name matching: Labels/<frame>.png claims the image role too, an error naming both."""
    root, _ = raw
    monkeypatch.setattr(uavid, 'IMAGE_RE', re.compile(r'(?:^|/)uavid_(train|val|test)/(seq\d+)/\w+/(\d+)\.png$'))
    with pytest.raises(ConversionError, match=r'two files claim the img of train/seq1/000000: .*Images/000000\.png '
                                              r'and .*Labels/000000\.png|Labels/\d+\.png could be both'):
        uavid.convert(root, str(tmp_path / 'out'))


def test_archive_folder_and_extracted_tree_agree(raw, tmp_path):
    root, truth = raw
    ref = str(tmp_path / 'ref')
    uavid.convert(root, ref)
    outs = []
    for name, src in (('zip', osp.join(root, uavid.ARCHIVE)), ('tree', str(tmp_path / 'tree'))):
        if name == 'tree':
            _fake.extract(root, src)
        out = str(tmp_path / name)
        uavid.convert(src, out)
        outs.append(out)
    for out in outs:
        for d, _, fs in os.walk(ref):
            for f in fs:
                assert open(osp.join(d, f), 'rb').read() == \
                    open(osp.join(out, osp.relpath(osp.join(d, f), ref)), 'rb').read()
    _fake.extract(root, root)
    with pytest.raises(ConversionError, match='two files claim the img of'):
        uavid.convert(root, str(tmp_path / 'both'))


def test_partial_download(raw, tmp_path, capsys):
    root, truth = raw
    zpath = osp.join(root, uavid.ARCHIVE)
    with zipfile.ZipFile(zpath) as zf:
        items = [(i, zf.read(i)) for i in zf.infolist()]
    lost = 'uavid_v1.5_official_release_image/uavid_train/seq1/Labels/000100.png'
    with zipfile.ZipFile(zpath, 'w') as zf:  # a resumed download: the test part and one label missing
        for info, data in items:
            if info.filename != lost and '/uavid_test/' not in info.filename:
                zf.writestr(info, data)
    out = str(tmp_path / 'out')
    counts, _ = uavid.convert(root, out)
    assert counts == dict(train=3, val=2) and check_provenance(out, truth) == 5
    err = capsys.readouterr().err
    assert '3 of the official 200 train frames found (partial download?)' in err
    assert '0 of the official 150 test frames found' in err
    assert re.search(r'skipped 1 file\(s\), images without their Labels/ label: .*seq1/Images/000100\.png', err)
    with zipfile.ZipFile(zpath, 'w') as zf:  # labels only: nothing usable
        zf.writestr(lost, items[0][1])
    with pytest.raises(ConversionError, match=r'has no usable UAVid frame'):
        uavid.convert(root, str(tmp_path / 'o2'))


def test_authors_preset_tiles(raw, tmp_path, monkeypatch):
    root, truth = raw
    # the real canvas is 3072x4096; scale it down with the frames
    monkeypatch.setitem(uavid.AUTHORS, 'canvas', (48, 64))
    monkeypatch.setitem(uavid.AUTHORS, 'region', (32, 64))
    monkeypatch.setitem(uavid.AUTHORS, 'tile', 16)
    out = str(tmp_path / 'out')
    counts, expected = uavid.convert(root, out, preset='authors')
    assert counts == dict(train=32, val=16, test=8)  # 8 tiles per frame
    img, idx = truth[('val', 'seq16', '000000')]
    lab = cv2.imread(osp.join(out, 'ann_dir', 'val', 'seq16_000000_32_48.png'), cv2.IMREAD_UNCHANGED)
    # rows 32..47 / cols 48..63 of a 36x60 frame: a 4x12 real corner, the rest padding (255)
    assert np.array_equal(lab[:4, :12], idx[32:36, 48:60].astype(np.uint8))
    assert (lab[4:] == 255).all() and (lab[:, 12:] == 255).all()


def test_bad_inputs(raw, tmp_path):
    root, _ = raw
    zpath = osp.join(root, uavid.ARCHIVE)
    with zipfile.ZipFile(zpath) as zf:
        items = [(i, zf.read(i)) for i in zf.infolist()]
    bad = np.zeros((36, 60, 3), np.uint8)
    bad[3, 4] = (1, 2, 3)  # BGR on disk -> RGB (3, 2, 1)
    member = 'uavid_v1.5_official_release_image/uavid_val/seq16/Labels/000100.png'
    with zipfile.ZipFile(zpath, 'w') as zf:
        for info, data in items:
            zf.writestr(info, _fake.png(bad) if info.filename == member else data)
    out = str(tmp_path / 'out')
    with pytest.raises(ConversionError, match=r'seq16/Labels/000100\.png: colour \(3, 2, 1\) at \(row 3, col 4\)'):
        uavid.convert(root, out)
    assert not [f for _, _, fs in os.walk(out) for f in fs if TMP_MARK in f]
    with zipfile.ZipFile(zpath, 'w') as zf:
        zf.writestr('something/else.png', b'')
    with pytest.raises(ConversionError, match=r'has no usable UAVid frame: no uavid_\{train,val,test\}'):
        uavid.convert(root, str(tmp_path / 'o2'))


def test_dataset_class_loads(raw, tmp_path):
    root, _ = raw
    out = str(tmp_path / 'out')
    uavid.convert(root, out)
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules

    import rsseg_ext  # noqa: F401
    register_all_modules()
    ds = DATASETS.build(dict(type='UAVidDataset', data_root=out,
                             data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
                             pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                                       dict(type='PackSegInputs')]))
    assert len(ds) == 4 and ds.metainfo['classes'][-1] == 'clutter'
    assert ds[0]['data_samples'].gt_sem_seg.data.max() <= 7

"""data_converters/potsdam.py and vaihingen.py on fake official archives (tests/data/isprs/data.py)."""
import os
import os.path as osp
import sys
import zipfile

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_fake_data

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import _isprs  # noqa: E402

_fake = load_fake_data('isprs')
_tif_bytes, make_potsdam, make_vaihingen = _fake._tif_bytes, _fake.make_potsdam, _fake.make_vaihingen
from potsdam import Potsdam  # noqa: E402
from vaihingen import Vaihingen  # noqa: E402

slide_grid = _isprs.slide_grid
from _light import TMP_MARK, ConversionError  # noqa: E402

TINY = dict(tile=32, train_stride=16, test_stride=32)


@pytest.fixture()
def potsdam_raw(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    areas = Potsdam.splits['train'] + Potsdam.splits['val']
    return str(root), make_potsdam(str(root), areas)


def test_potsdam_tiles_labels_and_lists(potsdam_raw, tmp_path):
    root, truth = potsdam_raw
    out = str(tmp_path / 'out')
    counts, expected = _isprs.convert(Potsdam(), root, out, nproc=2, **TINY)
    per_train = len(slide_grid(40, 56, 32, 16))
    per_val = len(slide_grid(40, 56, 32, 32))
    assert counts == expected == dict(train=24 * per_train, val=14 * per_val)
    assert len(os.listdir(osp.join(out, 'img_dir', 'train'))) == 24 * per_train
    # train uses the full GT, val the eroded one; mmseg's coding: 0 = boundary, 1..6 = classes
    img, idx, full, eroded = truth['2_10']
    y1, x1, y2, x2 = slide_grid(40, 56, 32, 16)[-1]
    lab = cv2.imread(osp.join(out, 'ann_dir', 'train', f'2_10_{y1}_{x1}.png'), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(lab, idx[y1:y2, x1:x2].astype(np.uint8) + 1)
    tile = cv2.imread(osp.join(out, 'img_dir', 'train', f'2_10_{y1}_{x1}.png'))
    assert np.array_equal(tile[..., ::-1], img[y1:y2, x1:x2])  # stored as a normal RGB PNG
    _, idx_v, _, eroded_v = truth['2_13']
    lab_v = cv2.imread(osp.join(out, 'ann_dir', 'val', '2_13_0_0.png'), cv2.IMREAD_UNCHANGED)
    boundary = (eroded_v[:32, :32] == 0).all(-1)
    assert (lab_v[boundary] == 0).all() and boundary.any()
    assert np.array_equal(lab_v[~boundary], idx_v[:32, :32][~boundary] + 1)
    names = open(osp.join(out, 'splits', 'val.txt')).read().split()
    assert len(names) == 14 * per_val and '7_13_0_0' in names
    assert not [f for _, _, fs in os.walk(out) for f in fs if TMP_MARK in f]


def test_potsdam_resume(potsdam_raw, tmp_path, capsys):
    root, _ = potsdam_raw
    out = str(tmp_path / 'out')
    counts, _ = _isprs.convert(Potsdam(), root, out, **TINY)
    victim = osp.join(out, 'ann_dir', 'val', '5_15_0_0.png')
    os.remove(victim)
    counts2, _ = _isprs.convert(Potsdam(), root, out, **TINY)
    assert counts2 == counts and osp.isfile(victim)
    assert '37 of 38 items already converted' in capsys.readouterr().out


def test_unknown_colour_is_reported(potsdam_raw, tmp_path):
    root, truth = potsdam_raw
    bad = truth['3_11'][2].copy()
    bad[5, 7] = (12, 34, 56)
    zpath = osp.join(root, '5_Labels_all.zip')
    with zipfile.ZipFile(zpath) as zf:
        items = [(i, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(zpath, 'w') as zf:
        for info, data in items:
            zf.writestr(info, _tif_bytes(bad) if info.filename == 'top_potsdam_3_11_label.tif' else data)
    out = str(tmp_path / 'out')
    with pytest.raises(ConversionError, match=r'top_potsdam_3_11_label\.tif: colour \(12, 34, 56\) at '
                                              r'\(row 5, col 7\) is not in the dataset palette'):
        _isprs.convert(Potsdam(), root, out, **TINY)
    assert not [f for _, _, fs in os.walk(out) for f in fs if TMP_MARK in f]


def test_wrong_or_incomplete_archives(potsdam_raw, tmp_path):
    root, _ = potsdam_raw
    os.remove(osp.join(root, '5_Labels_all_noBoundary.zip'))
    with pytest.raises(ConversionError, match='5_Labels_all_noBoundary.zip not found'):
        _isprs.convert(Potsdam(), root, str(tmp_path / 'o'), **TINY)
    with zipfile.ZipFile(osp.join(root, '5_Labels_all_noBoundary.zip'), 'w') as zf:
        zf.writestr('readme.txt', 'x')
    with pytest.raises(ConversionError, match='not the official Potsdam archive'):
        _isprs.convert(Potsdam(), root, str(tmp_path / 'o'), **TINY)


def test_vaihingen_mmseg_preset(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    areas = Vaihingen.splits['train'] + Vaihingen.splits['val']
    make_vaihingen(str(root), areas)
    out = str(tmp_path / 'out')
    counts, expected = _isprs.convert(Vaihingen(), str(root), out, preset='mmseg', tile=32, train_stride=16,
                                      test_stride=16)
    per = len(slide_grid(48, 40, 32, 16))
    assert counts == expected == dict(train=16 * per, val=17 * per)
    # mmseg preset: eroded GT for train too
    labs = [cv2.imread(osp.join(out, 'ann_dir', 'train', f), cv2.IMREAD_UNCHANGED)
            for f in os.listdir(osp.join(out, 'ann_dir', 'train'))]
    assert any((lab == 0).any() for lab in labs)
    assert set(np.unique(np.concatenate([lab.ravel() for lab in labs]))) <= {0, 1, 2, 3, 4, 5, 6}


def test_dataset_class_reads_output(potsdam_raw, tmp_path):
    root, _ = potsdam_raw
    out = str(tmp_path / 'out')
    _isprs.convert(Potsdam(), root, out, **TINY)
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules
    register_all_modules()
    ds = DATASETS.build(dict(type='PotsdamDataset', data_root=out,  # reduce_zero_label=True (its default)
                             data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
                             pipeline=[dict(type='LoadImageFromFile'),
                                       dict(type='LoadAnnotations', reduce_zero_label=True),
                                       dict(type='PackSegInputs')]))
    assert len(ds) == 14 * len(slide_grid(40, 56, 32, 32))
    gt = ds[0]['data_samples'].gt_sem_seg.data
    assert set(gt.unique().tolist()) <= {0, 1, 2, 3, 4, 5, 255}


def test_area_subset_split_over_workers_gives_same_tiles(potsdam_raw, tmp_path):
    root, _ = potsdam_raw
    outs = []
    for nproc in (1, 2):
        out = str(tmp_path / f'o{nproc}')
        counts, expected = _isprs.convert(Potsdam(), root, out, nproc=nproc, areas=['2_13'], **TINY)
        assert counts == expected == dict(val=len(slide_grid(40, 56, 32, 32)))
        outs.append(out)
    a, b = (sorted(os.listdir(osp.join(o, 'ann_dir', 'val'))) for o in outs)
    assert a == b and a
    for name in a:
        assert open(osp.join(outs[0], 'ann_dir', 'val', name), 'rb').read() == \
            open(osp.join(outs[1], 'ann_dir', 'val', name), 'rb').read()
    with pytest.raises(ConversionError, match='unknown Potsdam area'):
        _isprs.convert(Potsdam(), root, str(tmp_path / 'x'), areas=['9_99'], **TINY)

"""data_converters/isaid.py on a fake official download (tests/data/isaid/data.py)."""
import os
import os.path as osp
import sys
import zipfile

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_fake_data

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import isaid  # noqa: E402

from _light import TMP_MARK, ConversionError  # noqa: E402
_fake = load_fake_data('isaid')


@pytest.fixture()
def raw(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    return str(root), _fake.make_download(str(root))


def test_patches_labels_resume(raw, tmp_path):
    root, truth = raw
    out = str(tmp_path / 'out')
    counts, expected = isaid.convert(root, out, nproc=2, patch=32, stride=16)
    # train: P0000 40x56 -> 2x3; P0001 32x32 -> 1; P0003 20x40 padded to 32x40 -> 2; val: P0002 48x40 -> 2x2
    assert counts == {'train': 3, 'val': 1, 'test': 1, 'train patches': 9, 'val patches': 4}
    assert expected['train'] == 1411 and 'train patches' not in expected  # official counts only for 896/512
    lab = cv2.imread(osp.join(out, 'ann_dir', 'train', 'P0000_8_40_16_48_instance_color_RGB.png'),
                     cv2.IMREAD_UNCHANGED)
    assert np.array_equal(lab, truth['P0000'][1][8:40, 16:48])
    img = cv2.imread(osp.join(out, 'img_dir', 'train', 'P0000_8_40_16_48.png'))[..., ::-1]
    assert np.array_equal(img, truth['P0000'][0][8:40, 16:48])
    lab = cv2.imread(osp.join(out, 'ann_dir', 'train', 'P0003_0_32_0_32_instance_color_RGB.png'),
                     cv2.IMREAD_UNCHANGED)
    assert np.array_equal(lab[:20], truth['P0003'][1][:, :32]) and (lab[20:] == 255).all()  # padding ignored
    assert os.listdir(osp.join(out, 'img_dir', 'test')) == ['P0004.png']  # copied whole
    every = open(osp.join(out, 'splits', 'all.txt')).read().split()
    assert len(every) == 13 and 'val/P0002_16_48_0_32' in every
    # resume after an interrupted run: one image's marker lost (its patches are redone), a temp file left over
    os.remove(osp.join(out, '.progress', 'val', 'P0002.done'))
    open(osp.join(out, 'img_dir', 'val', f'.P0002_0_32_0_32.png{TMP_MARK}zz'), 'wb').write(b'part')
    counts, _ = isaid.convert(root, out, patch=32, stride=16)
    assert counts['val patches'] == 4 and counts['train'] == 3
    assert not [f for _, _, fs in os.walk(out) for f in fs if TMP_MARK in f]


def test_bad_inputs(raw, tmp_path):
    root, _ = raw
    mz = osp.join(root, 'val', 'Semantic_masks', 'images.zip')
    bad = np.zeros((48, 40, 3), np.uint8)
    bad[9, 2] = (0, 0, 64)  # RGB; not an iSAID colour
    with zipfile.ZipFile(mz, 'w') as zf:
        zf.writestr('images/P0002_instance_color_RGB.png', _fake.png(bad[..., ::-1]))
    with pytest.raises(ConversionError, match=r'P0002_instance_color_RGB\.png: colour \(0, 0, 64\) at '
                                              r'\(row 9, col 2\)'):
        isaid.convert(root, str(tmp_path / 'o1'), patch=32, stride=16, test='skip')
    with zipfile.ZipFile(mz, 'w') as zf:
        zf.writestr('images/P0002_instance_color_RGB.png', _fake.png(np.zeros((40, 40, 3), np.uint8)))
    with pytest.raises(ConversionError, match=r'P0002\.png is 40x48 but its mask .* is 40x40'):
        isaid.convert(root, str(tmp_path / 'o2'), patch=32, stride=16, test='skip')
    os.remove(mz)
    with pytest.raises(ConversionError, match=r'no archive in .*val/Semantic_masks'):
        isaid.convert(root, str(tmp_path / 'o3'))
    with zipfile.ZipFile(mz, 'w') as zf:
        zf.writestr('images/P0009_instance_color_RGB.png', _fake.png(np.zeros((4, 4, 3), np.uint8)))
    with pytest.raises(ConversionError, match=r'images/P0002\.png in .*part1\.zip has no mask '
                                              r'P0002_instance_color_RGB\.png'):
        isaid.convert(root, str(tmp_path / 'o4'))


def test_dataset_loads(raw, tmp_path):
    root, _ = raw
    out = str(tmp_path / 'out')
    isaid.convert(root, out, patch=32, stride=16)
    from mmengine.config import Config
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules

    import rsseg_ext  # noqa: F401
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'isaid.py'))
    cfg.val_dataloader.dataset.data_root = out
    ds = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(ds) == 4 and ds[0]['data_samples'].gt_sem_seg.data.max() <= 15
    # the OVRSISBench "all" split: 15 foreground classes, background -> 255
    ov = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'ovrsisbench.py'))
    all_cfg = ov.ovrsis_test_sets.isaid
    for d in all_cfg.datasets:
        d.data_root = out
    ds = DATASETS.build(all_cfg)
    assert len(ds) == 13 and len(ds.metainfo['classes']) == 15
    vocab = open(osp.join(REPO_ROOT, 'configs', 'rskt_seg', 'vocabularies', 'isaid.txt')).read().splitlines()
    assert len(vocab) == 15
    seg = ds[0]['data_samples'].gt_sem_seg.data
    assert set(seg.unique().tolist()) <= set(range(15)) | {255}

"""data_converters/isaid.py on a fake official download (tests/data/isaid/data.py)."""
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
import isaid  # noqa: E402

from _common import TMP_MARK, ConversionError  # noqa: E402
_fake = load_fake_data('isaid')


@pytest.fixture()
def raw(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    return str(root), _fake.make_download(str(root))


def _patches(h, w, patch=32, stride=16):
    return len(isaid.slide_grid(max(h, patch), max(w, patch), patch, stride))


def _want(split):
    return sum(_patches(*hw) for z in _fake.LAYOUT[split].values() for hw in z.values())


def check_provenance(out, truth):
    """Every patch against the fake image / mask at the window its name gives (padding: image 0, label 255)."""
    n = 0
    for split in ('train', 'val'):
        for f in sorted(os.listdir(osp.join(out, 'img_dir', split))):
            pid, y1, y2, x1, x2 = re.fullmatch(r'(P\d{4})_(\d+)_(\d+)_(\d+)_(\d+)\.png', f).groups()
            y1, y2, x1, x2 = int(y1), int(y2), int(x1), int(x2)
            img, idx = truth[pid]
            h, w = max(img.shape[0], y2), max(img.shape[1], x2)
            pad_img = np.zeros((h, w, 3), np.uint8)
            pad_img[:img.shape[0], :img.shape[1]] = img
            pad_lab = np.full((h, w), 255, np.uint8)
            pad_lab[:idx.shape[0], :idx.shape[1]] = idx
            got = cv2.imread(osp.join(out, 'img_dir', split, f))[..., ::-1]
            assert np.array_equal(got, pad_img[y1:y2, x1:x2]), f'{split}/{f} is not that window of {pid}'
            lab = cv2.imread(osp.join(out, 'ann_dir', split, f'{f[:-4]}_instance_color_RGB.png'),
                             cv2.IMREAD_UNCHANGED)
            assert np.array_equal(lab, pad_lab[y1:y2, x1:x2]), f'{split}/{f}: not the mask of {pid}'
            n += 1
    test_dir = osp.join(out, 'img_dir', 'test')
    for f in os.listdir(test_dir) if osp.isdir(test_dir) else []:  # copied whole, same pixels
        assert np.array_equal(cv2.imread(osp.join(out, 'img_dir', 'test', f))[..., ::-1], truth[f[:-4]][0])
    return n


def _lists(out):
    return {f[:-4]: open(osp.join(out, 'splits', f)).read().split() for f in os.listdir(osp.join(out, 'splits'))}


def test_patches_by_pixels_and_every_split_list(raw, tmp_path):
    root, truth = raw
    out = str(tmp_path / 'out')
    counts, expected = isaid.convert(root, out, nproc=2, patch=32, stride=16)
    assert counts == {'train': 4, 'val': 1, 'test': 2, 'train patches': _want('train'), 'val patches': _want('val')}
    assert expected['train'] == 1411 and 'train patches' not in expected  # official counts only for 896/512
    assert check_provenance(out, truth) == _want('train') + _want('val')
    lists = _lists(out)
    for split in ('train', 'val', 'test'):
        assert lists[split] == sorted(f[:-4] for f in os.listdir(osp.join(out, 'img_dir', split)))
    assert lists['test'] == ['P0004', 'P0006']  # the id filter once kept 'P0006.png' whole: test.txt was empty
    assert lists['all'] == sorted([f'train/{n}' for n in lists['train']] + [f'val/{n}' for n in lists['val']])
    # a greyscale DOTA image becomes 3 equal channels
    grey = cv2.imread(osp.join(out, 'img_dir', 'train', 'P0005_0_32_0_32.png'), cv2.IMREAD_UNCHANGED)
    assert grey.shape == (32, 32, 3) and (grey[..., 0] == grey[..., 2]).all()


def test_test_split_tiled(raw, tmp_path):
    root, truth = raw
    out = str(tmp_path / 'out')
    isaid.convert(root, out, patch=32, stride=16, test='tile')
    names = _lists(out)['test']
    assert len(names) == _want('test') and {n.split('_')[0] for n in names} == {'P0004', 'P0006'}


def test_resume(raw, tmp_path):
    root, _ = raw
    out = str(tmp_path / 'out')
    isaid.convert(root, out, patch=32, stride=16)
    # resume after an interrupted run: one image's marker lost (its patches are redone), a temp file left over
    os.remove(osp.join(out, '.progress', 'val', 'P0002.done'))
    open(osp.join(out, 'img_dir', 'val', f'.P0002_0_32_0_32.png{TMP_MARK}zz'), 'wb').write(b'part')
    counts, _ = isaid.convert(root, out, patch=32, stride=16)
    assert counts['val patches'] == _want('val') and counts['train'] == 4
    assert not [f for _, _, fs in os.walk(out) for f in fs if TMP_MARK in f]


def _same_tree(a, b):
    files = sorted(osp.relpath(osp.join(d, f), a) for d, _, fs in os.walk(a) for f in fs)
    assert files == sorted(osp.relpath(osp.join(d, f), b) for d, _, fs in os.walk(b) for f in fs)
    for f in files:
        assert open(osp.join(a, f), 'rb').read() == open(osp.join(b, f), 'rb').read(), f


def test_folder_extracted_tree_and_single_archives_agree(raw, tmp_path):
    root, truth = raw
    ref = str(tmp_path / 'ref')
    isaid.convert(root, ref, patch=32, stride=16)
    tree = str(tmp_path / 'tree' / 'iSAID')
    _fake.extract_tree(root, tree)
    isaid.convert(tree, str(tmp_path / 'o1'), patch=32, stride=16)
    _same_tree(ref, str(tmp_path / 'o1'))
    zips = sorted(osp.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith('.zip'))
    isaid.convert(zips, str(tmp_path / 'o2'), patch=32, stride=16)  # every archive given on its own
    _same_tree(ref, str(tmp_path / 'o2'))
    isaid.convert([osp.join(root, s) for s in ('train', 'val', 'test')], str(tmp_path / 'o3'), patch=32, stride=16)
    _same_tree(ref, str(tmp_path / 'o3'))
    _fake.extract_tree(root, root)  # the archives next to their extracted copy: two members for one role
    with pytest.raises(ConversionError, match=r'two files claim the img of (\w+/P\d{4}): .*images/P\d{4}\.png '
                                              r'and .*images/(part\d\.zip:images/)?P\d{4}\.png'):
        isaid.convert(root, str(tmp_path / 'o4'), patch=32, stride=16)


def test_masks_by_folder_not_by_name(raw, tmp_path, monkeypatch):
    """Plant a name-only mask pattern: the Instance_masks files claim the same role, an error naming both."""
    root, _ = raw
    monkeypatch.setattr(isaid, 'LABEL_RE', re.compile(r'(train|val)/.*(P\d{4})_instance_\w+_RGB\.png$'))
    with pytest.raises(ConversionError, match=r'two files claim the lab of train/P0000|Instance_masks/images\.zip:'
                                              r'images/P0000_instance_id_RGB\.png could be both the lab and'):
        isaid.convert(root, str(tmp_path / 'out'), patch=32, stride=16)


def test_partial_download(raw, tmp_path, capsys):
    root, truth = raw
    os.remove(osp.join(root, 'train', 'images', 'part2.zip'))  # 1 of 3 train parts still downloading
    import shutil
    shutil.rmtree(osp.join(root, 'test'))
    out = str(tmp_path / 'out')
    counts, expected = isaid.convert(root, out, patch=32, stride=16)
    assert counts['train'] == 2 and counts['val'] == 1 and 'test' not in counts
    assert check_provenance(out, truth) == _want('train') - _patches(32, 32) - _patches(20, 40) + _want('val')
    err = capsys.readouterr().err
    assert '2 of the official 1411 train images found (partial download?)' in err
    assert '0 of the official 937 test images found' in err
    assert re.search(r'skipped 2 file\(s\), train masks without an image: .*P0001_instance_color_RGB\.png, '
                     r'.*P0003_instance_color_RGB\.png', err)
    assert _lists(out)['train'] and 'test' not in _lists(out)
    # nothing usable: masks only
    for zname in os.listdir(osp.join(root, 'train', 'images')):
        os.remove(osp.join(root, 'train', 'images', zname))
    os.remove(osp.join(root, 'val', 'images', 'part1.zip'))
    with pytest.raises(ConversionError, match=r'has no usable iSAID image .*found 0 image\(s\) and 5 mask\(s\)'):
        isaid.convert(root, str(tmp_path / 'o2'), patch=32, stride=16)


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
    assert len(ds) == _want('val') and ds[0]['data_samples'].gt_sem_seg.data.max() <= 15
    # the OVRSISBench "all" split: 15 foreground classes, background -> 255
    ov = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'ovrsisbench.py'))
    all_cfg = ov.ovrsis_test_sets.isaid
    for d in all_cfg.datasets:
        d.data_root = out
    ds = DATASETS.build(all_cfg)
    assert len(ds) == _want('train') + _want('val') and len(ds.metainfo['classes']) == 15
    vocab = open(osp.join(REPO_ROOT, 'configs', 'rskt_seg', 'vocabularies', 'isaid.txt')).read().splitlines()
    assert len(vocab) == 15
    seg = ds[0]['data_samples'].gt_sem_seg.data
    assert set(seg.unique().tolist()) <= set(range(15)) | {255}

"""data_converters/gid.py on a fake GID-5 release (tests/data/gid/data.py)."""
import os
import os.path as osp
import sys
import zipfile

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_fake_data

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import gid  # noqa: E402

from _light import TMP_MARK, ConversionError  # noqa: E402
_fake = load_fake_data('gid')


@pytest.fixture()
def raw(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    return str(root), _fake.make_release(str(root))


def test_tiles_split_resume(raw, tmp_path):
    root, truth = raw
    out = str(tmp_path / 'out')
    counts, expected = gid.convert(root, out, nproc=2, tile=32, stride=32)
    # 5 scenes -> 3 train / 1 val / 1 test; 40x48 -> rows {0, 8} x cols {0, 16} = 4 tiles
    assert counts == dict(train=12, val=4, test=4, scenes=5) and expected['scenes'] == 150
    scenes = {s: open(osp.join(out, 'splits', f'scenes_{s}.txt')).read().split() for s in ('train', 'val', 'test')}
    assert sorted(sum(scenes.values(), [])) == sorted(_fake.SCENES)
    assert gid.split_scenes(_fake.SCENES, 0) == scenes  # deterministic
    scene = scenes['val'][0]
    img, idx = truth[scene]
    lab = cv2.imread(osp.join(out, 'ann_dir', 'val', f'{scene}_8_16.png'), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(lab, idx[8:40, 16:48])  # 0 = unlabeled, 1..5 classes
    assert np.array_equal(cv2.imread(osp.join(out, 'img_dir', 'val', f'{scene}_8_16.png'))[..., ::-1],
                          img[8:40, 16:48])
    assert len(open(osp.join(out, 'splits', 'train.txt')).read().split()) == 12
    # resume: remove one tile, leave a temp file
    os.remove(osp.join(out, 'ann_dir', 'val', f'{scene}_8_16.png'))
    open(osp.join(out, 'ann_dir', 'val', f'.t.png{TMP_MARK}1'), 'wb').write(b'x')
    counts, _ = gid.convert(root, out, tile=32, stride=32)
    assert counts['val'] == 4 and osp.isfile(osp.join(out, 'ann_dir', 'val', f'{scene}_8_16.png'))
    assert not [f for _, _, fs in os.walk(out) for f in fs if TMP_MARK in f]


def test_split_sizes_full():
    s = gid.split_scenes([f's{i:03d}' for i in range(150)], 0)
    assert {k: len(v) for k, v in s.items()} == dict(train=120, val=24, test=6)


def test_bad_inputs(raw, tmp_path):
    root, _ = raw
    zpath = osp.join(root, 'Large-scale Classification_5classes.zip')
    scene = _fake.SCENES[1]
    with zipfile.ZipFile(zpath) as zf:
        items = [(i, zf.read(i)) for i in zf.infolist()]
    bad = np.zeros((40, 48, 3), np.uint8)
    bad[3, 5] = (10, 20, 30)
    member = f'{_fake.TOP}/label_5classes/{scene}_label.tif'
    with zipfile.ZipFile(zpath, 'w') as zf:
        for info, data in items:
            zf.writestr(info, _fake.tif(bad) if info.filename == member else data)
    with pytest.raises(ConversionError, match=rf'{scene}_label\.tif: colour \(10, 20, 30\) at \(row 3, col 5\)'):
        gid.convert(root, str(tmp_path / 'o1'), tile=32, stride=32)
    assert not [f for _, _, fs in os.walk(str(tmp_path / 'o1')) for f in fs if TMP_MARK in f]
    with zipfile.ZipFile(zpath, 'w') as zf:
        for info, data in items:
            if info.filename != member:
                zf.writestr(info, data)
    with pytest.raises(ConversionError, match=rf'image .*{scene}\.tif .* has no label_5classes/{scene}_label'):
        gid.convert(root, str(tmp_path / 'o2'))
    os.remove(zpath)
    with pytest.raises(ConversionError, match='no zip archive in'):
        gid.convert(root, str(tmp_path / 'o3'))


def test_dataset_loads(raw, tmp_path):
    root, _ = raw
    out = str(tmp_path / 'out')
    gid.convert(root, out, tile=32, stride=32)
    from mmengine.config import Config
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules

    import rsseg_ext  # noqa: F401
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'gid.py'))
    cfg.val_dataloader.dataset.data_root = out
    ds = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(ds) == 4 and ds.metainfo['classes'] == ('built-up', 'farmland', 'forest', 'meadow', 'water')
    seg = ds[0]['data_samples'].gt_sem_seg.data
    assert set(seg.unique().tolist()) <= set(range(5)) | {255}  # unlabeled -> 255


def test_gid15(tmp_path):
    root = tmp_path / 'raw15'
    root.mkdir()
    truth = _fake.make_release(str(root), classes=15)
    out = str(tmp_path / 'out15')
    with pytest.raises(ConversionError, match='label_5classes'):  # the GID-5 reading of a GID-15 archive
        gid.convert(str(root), out, tile=32, stride=32)
    counts, expected = gid.convert(str(root), out, tile=32, stride=32, classes=15)
    assert counts['train'] == 12 and 'scenes' not in expected
    scene = open(osp.join(out, 'splits', 'scenes_test.txt')).read().split()[0]
    lab = cv2.imread(osp.join(out, 'ann_dir', 'test', f'{scene}_0_0.png'), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(lab, truth[scene][1][:32, :32])
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules

    import rsseg_ext  # noqa: F401
    register_all_modules()
    ds = DATASETS.build(dict(type='GIDDataset', variant='gid15', data_root=out,
                             data_prefix=dict(img_path='img_dir/test', seg_map_path='ann_dir/test'),
                             pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                                       dict(type='PackSegInputs')]))
    assert len(ds) == 4 and len(ds.metainfo['classes']) == 15 and ds.metainfo['label_map'] is None
    seg = ds[0]['data_samples'].gt_sem_seg.data
    assert int(seg[seg != 255].max()) < 15

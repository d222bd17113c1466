"""data_converters/gid.py on fake GID releases built from the official description (tests/data/gid/data.py)."""
import os
import os.path as osp
import shutil
import sys

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_fake_data
from provenance import assert_window, tile_origin, modes_under_umask

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import gid  # noqa: E402

from _common import TMP_MARK, ConversionError  # noqa: E402
_fake = load_fake_data('gid')
SPLITS = ('train', 'val', 'test')


def _check_output(out: str, scenes: dict, classes: int = 5) -> dict:
    """Every tile on disk is the right window of the right product; the split lists list exactly the tiles on
    disk. Returns {split: tile names}."""
    listed = {}
    for split in SPLITS:
        names = open(osp.join(out, 'splits', f'{split}.txt')).read().split()
        on_disk = sorted(f[:-4] for f in os.listdir(osp.join(out, 'img_dir', split)))
        assert names == on_disk and names, split
        assert sorted(f[:-4] for f in os.listdir(osp.join(out, 'ann_dir', split))) == on_disk
        for name in names:
            scene, y, x = tile_origin(name)
            s = scenes[scene]
            img = cv2.imread(osp.join(out, 'img_dir', split, f'{name}.png'))[..., ::-1]
            assert_window(img, s['rgb'], y, x, f'image tile {name}',
                          {'NIR-R-G of NirRGB': s['nirrgb'][..., :3], 'R-G-B of NirRGB': s['nirrgb'][..., 1:],
                           'colour label': s['label_rgb']})
            lab = cv2.imread(osp.join(out, 'ann_dir', split, f'{name}.png'), cv2.IMREAD_UNCHANGED)
            assert_window(lab, s['idx'], y, x, f'label tile {name}')  # 0 = unlabeled, 1..K classes
        listed[split] = names
    every = open(osp.join(out, 'splits', 'all.txt')).read().split()
    assert sorted(every) == sorted(f'{s}/{n}' for s in SPLITS for n in listed[s])
    scene_lists = {s: open(osp.join(out, 'splits', f'scenes_{s}.txt')).read().split() for s in SPLITS}
    assert {tile_origin(n)[0] for s in SPLITS for n in listed[s]} == {x for v in scene_lists.values() for x in v}
    return listed


@pytest.mark.parametrize('form', ['archive', 'folder', 'tree', 'tree-parent'])
def test_every_input_form_provenance_by_pixels(tmp_path, form):
    """The zip, the folder holding it, and the extracted tree (or its parent) convert alike; the NIR-RGB product
    with the same file names and the colour labels never end up as images."""
    raw = tmp_path / 'raw'
    raw.mkdir()
    fake = _fake.make_release(str(raw), form='tree' if form.startswith('tree') else 'zip')
    arg = {'archive': fake['path'], 'folder': str(raw), 'tree': fake['path'], 'tree-parent': str(raw)}[form]
    out = str(tmp_path / 'out')
    counts, expected = gid.convert(arg, out, nproc=2 if form == 'folder' else 1, tile=32, stride=32)
    # 5 scenes -> 3 train / 1 val / 1 test; 37x53 at 32 -> rows {0, 5} x cols {0, 21} = 4 tiles each
    assert counts == dict(train=12, val=4, test=4, scenes=5) and expected['scenes'] == 150
    listed = _check_output(out, fake['scenes'])
    assert any(n.endswith('_5_21') for n in listed['train'])  # the shifted last row/column


def test_resume_and_split_rule(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    _fake.make_release(str(raw))
    out = str(tmp_path / 'out')
    gid.convert(str(raw), out, tile=32, stride=32)
    scenes = {s: open(osp.join(out, 'splits', f'scenes_{s}.txt')).read().split() for s in SPLITS}
    assert gid.split_scenes(_fake.SCENES, 0) == scenes  # deterministic
    scene = scenes['val'][0]
    os.remove(osp.join(out, 'ann_dir', 'val', f'{scene}_5_21.png'))
    open(osp.join(out, 'ann_dir', 'val', f'.t.png{TMP_MARK}1'), 'wb').write(b'x')
    counts, _ = gid.convert(str(raw), out, tile=32, stride=32)
    assert counts['val'] == 4 and osp.isfile(osp.join(out, 'ann_dir', 'val', f'{scene}_5_21.png'))
    assert not [f for _, _, fs in os.walk(out) for f in fs if TMP_MARK in f]


def test_outputs_respect_the_umask(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    _fake.make_release(str(raw))
    out = str(tmp_path / 'out')
    assert modes_under_umask(lambda: gid.convert(str(raw), out, tile=32, stride=32), out, 0o022) == {0o644}


def test_split_sizes_full():
    s = gid.split_scenes([f's{i:03d}' for i in range(150)], 0)
    assert {k: len(v) for k, v in s.items()} == dict(train=120, val=24, test=6)


def test_partial_download_converts_what_is_there(tmp_path, capsys):
    raw = tmp_path / 'raw'
    raw.mkdir()
    no_label, no_image = _fake.SCENES[1], _fake.SCENES[3]
    fake = _fake.make_release(str(raw), drop_labels=[no_label], drop_images=[no_image])
    out = str(tmp_path / 'out')
    counts, expected = gid.convert(str(raw), out, tile=32, stride=32)
    err = capsys.readouterr().err
    assert counts['scenes'] == 3 and expected['scenes'] == 150 and sum(counts[s] for s in SPLITS) == 12
    assert '3 of the official 150 scenes found' in err
    assert f'image_RGB without label_5classes: {fake["path"]}:{_fake.TOP}/image_RGB/{no_label}.tif' in err
    assert f'labels without image_RGB: {fake["path"]}:{_fake.TOP}/label_5classes/{no_image}_label.tif' in err
    listed = _check_output(out, fake['scenes'])
    assert not [n for v in listed.values() for n in v if n.startswith((no_label, no_image))]
    # nothing usable (only NIR-RGB and labels) is the one error
    only = tmp_path / 'only'
    only.mkdir()
    _fake.make_release(str(only), drop_images=_fake.SCENES)
    with pytest.raises(ConversionError, match=r'no usable GID-5 scenes: .*found 0 image\(s\), 5 label\(s\)'):
        gid.convert(str(only), str(tmp_path / 'o2'), tile=32, stride=32)


def test_two_copies_are_an_error_naming_both(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    fake = _fake.make_release(str(raw))
    _fake.make_release(str(raw), form='tree')  # the archive extracted next to itself
    scene = _fake.SCENES[0]
    with pytest.raises(ConversionError, match=rf'two files claim the img of {scene}: .*\.zip:.*image_RGB/{scene}'
                                              rf'\.tif and .*image_RGB/{scene}\.tif\. Pass one copy'):
        gid.convert(str(raw), str(tmp_path / 'o'), tile=32, stride=32)
    assert osp.isfile(fake['path'])


def test_bad_inputs(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    fake = _fake.make_release(str(raw))
    scene = _fake.SCENES[1]
    bad = np.zeros((*_fake.SIZE, 3), np.uint8)
    bad[3, 5] = (10, 20, 30)
    _fake.rewrite(fake['path'], f'{_fake.TOP}/label_5classes/{scene}_label.tif', _fake.tif(bad))
    with pytest.raises(ConversionError, match=rf'{scene}_label\.tif: colour \(10, 20, 30\) at \(row 3, col 5\)'):
        gid.convert(str(raw), str(tmp_path / 'o1'), tile=32, stride=32)
    assert not [f for _, _, fs in os.walk(str(tmp_path / 'o1')) for f in fs if TMP_MARK in f]
    os.remove(fake['path'])
    with pytest.raises(ConversionError, match=r'no usable GID-5 scenes: .*found 0 image\(s\), 0 label\(s\)'):
        gid.convert(str(raw), str(tmp_path / 'o3'))
    with pytest.raises(ConversionError, match='not found. Download GID'):
        gid.convert(str(tmp_path / 'nothing'), str(tmp_path / 'o4'))


def test_dataset_loads(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    _fake.make_release(str(raw))
    out = str(tmp_path / 'out')
    gid.convert(str(raw), out, tile=32, stride=32)
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
    fake = _fake.make_release(str(root), classes=15, form='tree')
    out = str(tmp_path / 'out15')
    with pytest.raises(ConversionError, match='label_5classes'):  # the GID-5 reading of a GID-15 release
        gid.convert(str(root), out, tile=32, stride=32)
    shutil.rmtree(out, ignore_errors=True)
    counts, expected = gid.convert(str(root), out, tile=32, stride=32, classes=15)
    assert counts['train'] == 12 and 'scenes' not in expected
    _check_output(out, fake['scenes'], classes=15)
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

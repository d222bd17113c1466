"""data_converters/inria.py on a fake extracted AerialImageDataset (tests/data/inria/data.py)."""
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_fake_data

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import inria  # noqa: E402

_fake = load_fake_data('inria')
from _light import TMP_MARK, ConversionError  # noqa: E402


@pytest.fixture()
def raw(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    return str(root), _fake.make_dataset(str(root))


def _write_lists(folder, ids):
    lists = {'train': ids[:6], 'val': ids[6:8], 'test': ids[8:]}
    for split, name in (('train', 'train.txt'), ('val', 'crossvali.txt'), ('test', 'test.txt')):
        (folder / name).write_text(''.join(f'{i}_sat.tif\n' for i in lists[split]))
    return lists


@pytest.mark.parametrize('nproc', [1, 2])
def test_converts_extracted_folder_with_fctl_lists(raw, tmp_path, nproc):
    root, fake = raw
    (tmp_path / 'txt_1').mkdir()
    lists = _write_lists(tmp_path / 'txt_1', fake['ids'])
    out = str(tmp_path / 'out')
    counts = inria.convert(root, out, nproc=nproc, split_lists=str(tmp_path / 'txt_1'))  # parent of the folder
    assert counts == dict(train=6, val=2, test=2)
    for split in ('train', 'val', 'test'):
        assert open(osp.join(out, 'splits', f'{split}.txt')).read().split() == sorted(lists[split])
    for t in fake['ids']:
        mask = cv2.imread(osp.join(out, 'masks', f'{t}_mask.png'), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(mask, fake['gt'][t])  # 0/255 -> 0/1
        src = osp.join(fake['path'], 'train', 'images', f'{t}.tif')
        assert open(osp.join(out, 'images', f'{t}_sat.tif'), 'rb').read() == open(src, 'rb').read()
    assert not [f for _, _, fs in os.walk(out) for f in fs if TMP_MARK in f]


def test_zip_distribution_and_random_split(raw, tmp_path, capsys):
    root, fake = raw
    z = _fake.zip_dataset(fake['path'], str(tmp_path / 'NEW2-AerialImageDataset.zip'))
    out = str(tmp_path / 'out')
    counts = inria.convert(z, out)
    assert sum(counts.values()) == 10
    assert 'NOT the FCtL protocol' in capsys.readouterr().out
    t = fake['ids'][3]
    assert np.array_equal(cv2.imread(osp.join(out, 'masks', f'{t}_mask.png'), cv2.IMREAD_UNCHANGED), fake['gt'][t])


def test_7z_needs_extraction_or_py7zr(raw, tmp_path):
    part = tmp_path / 'aerialimagelabeling.7z.001'
    part.write_bytes(b'7z\xbc\xaf\x27\x1c')
    try:
        import py7zr  # noqa: F401
        match = 'multi-part 7z'
    except ImportError:
        match = r'py7zr is not installed\. Extract it with 7-Zip'
    with pytest.raises(ConversionError, match=match):
        inria.convert(str(part), str(tmp_path / 'o'))


def test_missing_and_wrong_inputs(raw, tmp_path):
    root, fake = raw
    with pytest.raises(ConversionError, match='not found.*extract the 7z'):
        inria.convert(str(tmp_path / 'nothing'), str(tmp_path / 'o1'))
    with pytest.raises(ConversionError, match='no train/images folder'):
        inria.convert(str(tmp_path), str(tmp_path / 'o2'))
    os.remove(osp.join(fake['path'], 'train', 'gt', 'vienna2.tif'))
    with pytest.raises(ConversionError, match='ground truth .*vienna2.tif.* is missing'):
        inria.convert(root, str(tmp_path / 'o3'))


@pytest.mark.parametrize('damage,msg', [
    ('corrupt', 'corrupt or unreadable raster'),
    ('value', r'value 128 at \(row 1, col 2\) is not an Inria label'),
    ('size', 'is 40x40 but its ground truth'),
])
def test_bad_content_names_the_file(raw, tmp_path, damage, msg):
    root, fake = raw
    t = 'kitsap1'
    img = osp.join(fake['path'], 'train', 'images', f'{t}.tif')
    gt = osp.join(fake['path'], 'train', 'gt', f'{t}.tif')
    if damage == 'corrupt':
        data = open(img, 'rb').read()
        open(img, 'wb').write(data[:200])
    elif damage == 'value':
        g = fake['gt'][t] * 255
        g[1, 2] = 128
        _fake.write_tif(gt, g)
    else:
        _fake.write_tif(gt, np.zeros((20, 40), np.uint8))
    out = str(tmp_path / 'out')
    with pytest.raises(ConversionError, match=msg) as e:
        inria.convert(root, out)
    assert t in str(e.value)
    assert not osp.exists(osp.join(out, 'images', f'{t}_sat.tif'))


def test_cli_summary_and_dataset_class(raw, tmp_path):
    root, fake = raw
    out = str(tmp_path / 'out')
    res = subprocess.run([sys.executable, 'data_converters/inria.py', fake['path'], '-o', out], cwd=REPO_ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'MISMATCH' in res.stdout  # 10 fake tiles vs the official 126 / 27 / 27
    from mmengine.registry import init_default_scope
    import rsseg_ext  # noqa: F401
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    ds = DATASETS.build(dict(type='InriaAerialDataset', data_root=out, ann_file='splits/test.txt',
                             data_prefix=dict(img_path='images', seg_map_path='masks'),
                             pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                                       dict(type='PackSegInputs')]))
    s = ds[0]
    t = osp.basename(s['data_samples'].img_path)[:-len('_sat.tif')]
    assert s['inputs'].shape == (3, 40, 40)  # the GeoTIFF loads through the stock pipeline
    assert np.array_equal(s['data_samples'].gt_sem_seg.data[0].numpy(), fake['gt'][t])
    assert ds.metainfo['classes'] == ('background', 'building')

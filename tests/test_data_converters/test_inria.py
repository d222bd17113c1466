"""data_converters/inria.py on fake Inria releases built from the official description (tests/data/inria/data.py)."""
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_fake_data
from provenance import assert_window

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import inria  # noqa: E402

_fake = load_fake_data('inria')
from _common import TMP_MARK, ConversionError  # noqa: E402
SPLITS = ('train', 'val', 'test')


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


def _read_rgb(path):
    import rasterio
    with rasterio.open(path) as ds:
        return ds.read().transpose(1, 2, 0)


def _check_output(out: str, fake: dict) -> dict:
    """Images are the train/images GeoTIFFs (pixels; never the same-named train/gt), masks GT / 255; the split
    lists list exactly what is on disk. Returns {split: ids}."""
    lists = {}
    for split in SPLITS:
        ids = open(osp.join(out, 'splits', f'{split}.txt')).read().split()
        assert sorted(f[:-4] for f in os.listdir(osp.join(out, 'img_dir', split))) == ids
        assert sorted(f[:-4] for f in os.listdir(osp.join(out, 'ann_dir', split))) == ids
        for t in ids:
            gt = fake['gt'][t]
            assert_window(_read_rgb(osp.join(out, 'img_dir', split, f'{t}.tif')), fake['rgb'][t], 0, 0,
                          f'image {t}', {'ground truth': np.repeat(gt[..., None] * 255, 3, axis=2)})
            mask = cv2.imread(osp.join(out, 'ann_dir', split, f'{t}.png'), cv2.IMREAD_UNCHANGED)
            assert np.array_equal(mask, gt)  # 0/255 -> 0/1
        lists[split] = ids
    every = open(osp.join(out, 'splits', 'all.txt')).read().split()
    assert sorted(every) == sorted(f'{s}/{i}' for s in SPLITS for i in lists[s])
    return lists


@pytest.mark.parametrize('nproc', [1, 2])
def test_converts_extracted_folder_with_fctl_lists(raw, tmp_path, nproc):
    root, fake = raw
    (tmp_path / 'txt_1').mkdir()
    lists = _write_lists(tmp_path / 'txt_1', fake['ids'])
    out = str(tmp_path / 'out')
    counts = inria.convert(root, out, nproc=nproc, split_lists=str(tmp_path / 'txt_1'))  # parent of the folder
    assert counts == dict(train=6, val=2, test=2)
    assert _check_output(out, fake) == {s: sorted(v) for s, v in lists.items()}
    src = osp.join(fake['path'], 'train', 'images', f'{lists["val"][0]}.tif')  # copied byte for byte
    assert open(osp.join(out, 'img_dir', 'val', f'{lists["val"][0]}.tif'), 'rb').read() == open(src, 'rb').read()
    assert not [f for _, _, fs in os.walk(out) for f in fs if TMP_MARK in f]


@pytest.mark.parametrize('form', ['zip', 'zip-in-folder', 'tree'])
def test_every_input_form(raw, tmp_path, capsys, form):
    root, fake = raw
    if form == 'tree':
        arg = fake['path']
    else:
        z = _fake.zip_dataset(fake['path'], osp.join(root, 'NEW2-AerialImageDataset.zip'), remove_tree=True)
        arg = z if form == 'zip' else root
    out = str(tmp_path / 'out')
    counts = inria.convert(arg, out)
    assert sum(counts.values()) == 10
    captured = capsys.readouterr()
    assert 'NOT the FCtL protocol' in captured.out and '2 unlabelled test/images tile(s) skipped' in captured.out
    # 10 of the official 180 tiles: the missing ones are named
    assert '170 official training tiles not found (partial download?), converting the 10 there: austin3, ' \
        'austin4' in captured.err and 'vienna36' in captured.err
    _check_output(out, fake)


def test_partial_extraction_and_lists(tmp_path, capsys):
    root = tmp_path / 'raw'
    root.mkdir()
    fake = _fake.make_dataset(str(root), drop_gt=['kitsap2'], drop_images=['vienna1'])
    every = [f'{c}{n}' for c in _fake.CITIES for n in (1, 2)]
    (tmp_path / 'txt_1').mkdir()
    lists = _write_lists(tmp_path / 'txt_1', every)
    out = str(tmp_path / 'out')
    counts = inria.convert(str(root), out, split_lists=str(tmp_path / 'txt_1'))
    err = capsys.readouterr().err
    assert sum(counts.values()) == 8
    assert 'images without train/gt: ' in err and 'train/images/kitsap2.tif' in err
    assert 'ground truth without train/images: ' in err and 'train/gt/vienna1.tif' in err
    assert '2 image(s) of the published lists are not in the input' in err
    got = _check_output(out, fake)
    assert got == {s: sorted(t for t in v if t not in ('kitsap2', 'vienna1')) for s, v in lists.items()}
    empty = tmp_path / 'empty'
    empty.mkdir()
    _fake.make_dataset(str(empty), drop_gt=every)
    with pytest.raises(ConversionError, match=r'no usable Inria Aerial train/images \+ train/gt tiles: found 10 '
                                              r'train/images and 0 train/gt'):
        inria.convert(str(empty), str(tmp_path / 'o'))


def test_7z_needs_extraction_or_py7zr(tmp_path):
    part = tmp_path / 'aerialimagelabeling.7z.001'
    part.write_bytes(b'7z\xbc\xaf\x27\x1c')
    try:
        import py7zr  # noqa: F401
        match = 'multi-part 7z'
    except ImportError:
        match = r'py7zr is not installed\. Extract it with 7-Zip'
    with pytest.raises(ConversionError, match=match):
        inria.convert(str(part), str(tmp_path / 'o'))
    with pytest.raises(ConversionError, match=r'holds the 7z parts only: extract them with `7z x'):
        inria.convert(str(tmp_path), str(tmp_path / 'o'))  # the folder the parts were downloaded to


def test_missing_and_wrong_inputs(raw, tmp_path):
    root, fake = raw
    with pytest.raises(ConversionError, match='not found.*extract the 7z'):
        inria.convert(str(tmp_path / 'nothing'), str(tmp_path / 'o1'))
    (tmp_path / 'other').mkdir()
    (tmp_path / 'other' / 'readme.txt').write_text('x')
    with pytest.raises(ConversionError, match='no usable Inria Aerial'):
        inria.convert(str(tmp_path / 'other'), str(tmp_path / 'o2'))


@pytest.mark.parametrize('damage,msg', [
    ('corrupt', 'corrupt or unreadable raster'),
    ('value', r'value 128 at \(row 1, col 2\) is not an Inria label'),
    ('size', 'is 44x40 but its ground truth'),
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
        _fake.write_tif(gt, np.zeros((20, 44), np.uint8))
    out = str(tmp_path / 'out')
    with pytest.raises(ConversionError, match=msg) as e:
        inria.convert(root, out)
    assert t in str(e.value)
    assert not [f for _, _, fs in os.walk(out) for f in fs if f.startswith(t)]


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
                             data_prefix=dict(img_path='img_dir/test', seg_map_path='ann_dir/test'),
                             pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                                       dict(type='PackSegInputs')]))
    s = ds[0]
    t = osp.basename(s['data_samples'].img_path)[:-len('.tif')]
    assert s['inputs'].shape == (3, 40, 44)  # the GeoTIFF loads through the stock pipeline
    assert np.array_equal(s['data_samples'].gt_sem_seg.data[0].numpy(), fake['gt'][t])
    assert ds.metainfo['classes'] == ('background', 'building')

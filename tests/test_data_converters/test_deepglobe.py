"""data_converters/deepglobe.py on a fake Kaggle archive (tests/data/deepglobe/data.py)."""
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_fake_data

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import deepglobe  # noqa: E402

_fake = load_fake_data('deepglobe')
from _light import TMP_MARK, ConversionError  # noqa: E402


@pytest.fixture()
def raw(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    return str(root), _fake.make_archive(str(root))


def _no_temps(out):
    return not [f for _, _, fs in os.walk(out) for f in fs if TMP_MARK in f]


@pytest.mark.parametrize('nproc', [1, 2])
def test_converts_with_glnet_lists(raw, tmp_path, nproc):
    root, fake = raw
    lists_dir = tmp_path / 'lists'
    lists_dir.mkdir()
    lists = _fake.write_glnet_lists(str(lists_dir), fake['ids'])
    out = str(tmp_path / 'out')
    counts = deepglobe.convert(root, out, nproc=nproc, split_lists=str(lists_dir))  # the folder holding archive.zip
    assert counts == dict(train=4, val=2, test=2)
    for split in ('train', 'val', 'test'):
        assert open(osp.join(out, 'splits', f'{split}.txt')).read().split() == sorted(lists[split])
    for i in fake['ids']:
        mask = cv2.imread(osp.join(out, 'masks', f'{i}_mask.png'), cv2.IMREAD_UNCHANGED)
        assert mask.dtype == np.uint8 and mask.ndim == 2
        assert np.array_equal(mask, fake['index'][i])  # off colours binarised back to their classes
        assert osp.isfile(osp.join(out, 'images', f'{i}_sat.jpg'))
    assert len(os.listdir(osp.join(out, 'images'))) == 8  # valid/ and test/ (unlabelled) are not converted
    assert _no_temps(out)


def test_random_split_without_lists_and_resume(raw, tmp_path, capsys):
    root, fake = raw
    out = str(tmp_path / 'out')
    counts = deepglobe.convert(fake['path'], out)
    assert sum(counts.values()) == 8 and set(counts) == {'train', 'val', 'test'}
    assert 'NOT the GLNet protocol' in capsys.readouterr().out
    split_a = {s: open(osp.join(out, 'splits', f'{s}.txt')).read() for s in ('train', 'val', 'test')}
    gone = osp.join(out, 'masks', f'{fake["ids"][0]}_mask.png')
    os.remove(gone)
    deepglobe.convert(fake['path'], out)
    assert osp.isfile(gone) and 'already converted (skipped)' in capsys.readouterr().out
    assert split_a == {s: open(osp.join(out, 'splits', f'{s}.txt')).read() for s in ('train', 'val', 'test')}


def test_missing_and_wrong_archives(raw, tmp_path):
    root, fake = raw
    with pytest.raises(ConversionError, match='not found.*kaggle'):
        deepglobe.convert(str(tmp_path / 'nothing'), str(tmp_path / 'o0'))
    os.remove(fake['path'])
    with pytest.raises(ConversionError, match='holds no DeepGlobe archive'):
        deepglobe.convert(root, str(tmp_path / 'o1'))
    bad = osp.join(root, 'archive.zip')
    open(bad, 'wb').write(b'not a zip')
    with pytest.raises(ConversionError, match='not a valid zip'):
        deepglobe.convert(bad, str(tmp_path / 'o2'))
    import zipfile
    with zipfile.ZipFile(bad, 'w') as zf:
        zf.writestr('images/1.png', b'x')
    with pytest.raises(ConversionError, match='not the DeepGlobe Land Cover archive'):
        deepglobe.convert(bad, str(tmp_path / 'o3'))


@pytest.mark.parametrize('damage,msg', [
    ('corrupt', 'corrupt or unreadable image'),
    ('colour', r'colour \(250, 10, 5\) at \(row 0, col 0\) is not a DeepGlobe class colour'),
    ('size', 'is 48x48 but its mask'),
    ('missing', 'mask .* is missing'),
])
def test_bad_content_names_the_member(raw, tmp_path, damage, msg):
    root, fake = raw
    i = fake['ids'][2]
    img_m, mask_m = f'train/{i}_sat.jpg', f'train/{i}_mask.png'
    if damage == 'corrupt':
        _fake.rewrite_member(fake['path'], img_m, b'\xff\xd8 broken jpeg')
    elif damage == 'colour':
        rgb = np.zeros((48, 48, 3), np.uint8)
        rgb[0, 0] = (250, 10, 5)  # red: binarises to (255, 0, 0), no class
        _fake.rewrite_member(fake['path'], mask_m, _fake.encode(rgb[..., ::-1], '.png'))
    elif damage == 'size':
        _fake.rewrite_member(fake['path'], mask_m, _fake.encode(np.zeros((24, 48, 3), np.uint8), '.png'))
    else:
        import zipfile
        with zipfile.ZipFile(fake['path']) as zf:
            items = [(n, zf.read(n)) for n in zf.namelist() if n != mask_m]
        with zipfile.ZipFile(fake['path'], 'w') as zf:
            for n, d in items:
                zf.writestr(n, d)
    out = str(tmp_path / 'out')
    with pytest.raises(ConversionError, match=msg) as e:
        deepglobe.convert(root, out)
    assert i in str(e.value)
    assert not osp.exists(osp.join(out, 'images', f'{i}_sat.jpg')) and (not osp.isdir(out) or _no_temps(out))
    if damage == 'colour':  # the GLNet-style lenient mode maps it to unknown
        deepglobe.convert(root, str(tmp_path / 'lenient'), unmatched_to_unknown=True)
        assert cv2.imread(str(tmp_path / 'lenient' / 'masks' / f'{i}_mask.png'), cv2.IMREAD_UNCHANGED)[0, 0] == 0


def test_bad_split_lists(raw, tmp_path):
    root, fake = raw
    lists_dir = tmp_path / 'lists'
    lists_dir.mkdir()
    _fake.write_glnet_lists(str(lists_dir), fake['ids'][:-1] + ['999999'])
    with pytest.raises(ConversionError, match=r"not in the archive, e.g. \['999999'\]"):
        deepglobe.convert(root, str(tmp_path / 'o'), split_lists=str(lists_dir))


def test_cli_summary_and_dataset_class(raw, tmp_path):
    root, fake = raw
    out = str(tmp_path / 'out')
    res = subprocess.run([sys.executable, 'data_converters/deepglobe.py', root, '-o', out], cwd=REPO_ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'MISMATCH' in res.stdout  # 8 fake images vs the official 454 / 207 / 142
    res = subprocess.run([sys.executable, 'data_converters/deepglobe.py', str(tmp_path / 'none'), '-o', out],
                         cwd=REPO_ROOT, capture_output=True, text=True)
    assert res.returncode != 0 and 'deepglobe:' in res.stderr
    from mmengine.registry import init_default_scope
    import rsseg_ext  # noqa: F401
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    ds = DATASETS.build(dict(type='DeepGlobeLandCoverDataset', data_root=out, ann_file='splits/train.txt',
                             data_prefix=dict(img_path='images', seg_map_path='masks'),
                             pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                                       dict(type='PackSegInputs')]))
    names = open(osp.join(out, 'splits', 'train.txt')).read().split()
    assert len(ds) == len(names)
    s = ds[0]
    i = osp.basename(s['data_samples'].img_path)[:-len('_sat.jpg')]
    assert np.array_equal(s['data_samples'].gt_sem_seg.data[0].numpy(), fake['index'][i])
    assert ds.metainfo['classes'][0] == 'unknown' and len(ds.metainfo['palette']) == 7

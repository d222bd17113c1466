"""data_converters/deepglobe.py on fake Kaggle archives built from the official description
(tests/data/deepglobe/data.py)."""
import os
import os.path as osp
import shutil
import subprocess
import sys
import zipfile

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_fake_data
from provenance import assert_window, modes_under_umask

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import deepglobe  # noqa: E402

_fake = load_fake_data('deepglobe')
from _common import TMP_MARK, ConversionError  # noqa: E402
SPLITS = ('train', 'val', 'test')


@pytest.fixture()
def raw(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    return str(root), _fake.make_archive(str(root))


def _no_temps(out):
    return not [f for _, _, fs in os.walk(out) for f in fs if TMP_MARK in f]


def _check_output(out: str, fake: dict) -> dict:
    """Each written image is the official image (pixels), each mask its binarised classes; the split lists list
    exactly what is on disk; all.txt is their union. Returns {split: ids}."""
    lists = {}
    for split in SPLITS:
        ids = open(osp.join(out, 'splits', f'{split}.txt')).read().split()
        assert sorted(f[:-4] for f in os.listdir(osp.join(out, 'img_dir', split))) == ids
        assert sorted(f[:-4] for f in os.listdir(osp.join(out, 'ann_dir', split))) == ids
        for i in ids:
            img = cv2.imread(osp.join(out, 'img_dir', split, f'{i}.jpg'))[..., ::-1]
            assert_window(img, fake['rgb'][i], 0, 0, f'image {i}', {'colour mask': fake['mask_rgb'][i]})
            mask = cv2.imread(osp.join(out, 'ann_dir', split, f'{i}.png'), cv2.IMREAD_UNCHANGED)
            assert mask.dtype == np.uint8 and mask.ndim == 2
            assert np.array_equal(mask, fake['index'][i])  # off colours binarised back to their classes
        lists[split] = ids
    every = open(osp.join(out, 'splits', 'all.txt')).read().split()
    assert sorted(every) == sorted(f'{s}/{i}' for s in SPLITS for i in lists[s])
    return lists


@pytest.mark.parametrize('nproc', [1, 2])
def test_converts_with_glnet_lists(raw, tmp_path, nproc):
    root, fake = raw
    lists_dir = tmp_path / 'lists'
    lists_dir.mkdir()
    lists = _fake.write_glnet_lists(str(lists_dir), fake['ids'])
    out = str(tmp_path / 'out')
    counts = deepglobe.convert(root, out, nproc=nproc, split_lists=str(lists_dir))  # the folder holding archive.zip
    assert counts == dict(train=4, val=2, test=2)
    got = _check_output(out, fake)
    assert got == {s: sorted(v) for s, v in lists.items()}  # valid/ and test/ (unlabelled) are not converted
    assert _no_temps(out)


@pytest.mark.parametrize('form', ['archive', 'cli-name', 'tree', 'tree-parent'])
def test_every_input_form(tmp_path, form, capsys):
    root = tmp_path / 'raw'
    root.mkdir()
    name = 'deepglobe-land-cover-classification-dataset.zip' if form == 'cli-name' else 'archive.zip'
    fake = _fake.make_archive(str(root), name=name, form='tree' if form.startswith('tree') else 'zip')
    arg = str(root) if form in ('cli-name', 'tree-parent') else fake['path']
    out = str(tmp_path / 'out')
    counts = deepglobe.convert(arg, out)
    assert sum(counts.values()) == 8
    _check_output(out, fake)
    captured = capsys.readouterr()
    assert '4 unlabelled valid/ and test/ image(s) skipped' in captured.out and 'NOT the GLNet' in captured.out
    assert '8 of the official 8 labelled' not in captured.err and 'missing' not in captured.err


@pytest.mark.parametrize('umask,mode', [(0o022, 0o644), (0o027, 0o640)])
def test_outputs_respect_the_umask(raw, tmp_path, umask, mode):
    root, _ = raw
    out = str(tmp_path / 'out')
    assert modes_under_umask(lambda: deepglobe.convert(root, out, nproc=2), out, umask) == {mode}


def test_random_split_without_lists_and_resume(raw, tmp_path, capsys):
    root, fake = raw
    out = str(tmp_path / 'out')
    counts = deepglobe.convert(fake['path'], out)
    assert sum(counts.values()) == 8 and set(counts) == set(SPLITS)
    assert 'NOT the GLNet protocol' in capsys.readouterr().out
    split_a = _check_output(out, fake)
    i0 = fake['ids'][0]
    gone = next(osp.join(out, 'ann_dir', s, f'{i0}.png') for s in split_a if i0 in split_a[s])
    os.remove(gone)
    deepglobe.convert(fake['path'], out)
    assert osp.isfile(gone) and 'already converted (skipped)' in capsys.readouterr().out
    assert _check_output(out, fake) == split_a


def test_partial_download(tmp_path, capsys):
    """A download missing one pair and one image: the rest converts, the missing id (from metadata.csv) and the
    orphan mask are named; the published lists still place every present image."""
    root = tmp_path / 'raw'
    root.mkdir()
    every = [str(100000 + 7919 * k) for k in range(_fake.NUM_TRAIN)]
    gone, orphan = every[1], every[5]
    fake = _fake.make_archive(str(root), drop=[gone], orphan_masks=[orphan])
    lists_dir = tmp_path / 'lists'
    lists_dir.mkdir()
    lists = _fake.write_glnet_lists(str(lists_dir), every)
    out = str(tmp_path / 'out')
    counts = deepglobe.convert(str(root), out, split_lists=str(lists_dir))
    err = capsys.readouterr().err
    assert sum(counts.values()) == 6
    assert f'1 official labelled images not found (partial download?), converting the 6 there: {gone}' in err
    assert f'masks without their image: {fake["path"]}:train/{orphan}_mask.png' in err
    assert '2 image(s) of the published lists are not in the input' in err and gone in err
    got = _check_output(out, fake)
    assert got == {s: sorted(i for i in v if i not in (gone, orphan)) for s, v in lists.items()}
    # nothing usable at all is the error
    empty = tmp_path / 'empty'
    empty.mkdir()
    _fake.make_archive(str(empty), orphan_masks=every)
    with pytest.raises(ConversionError, match=r'no usable DeepGlobe Land Cover image/mask pairs: .*found 0 image'):
        deepglobe.convert(str(empty), str(tmp_path / 'o2'))


def test_archive_next_to_its_extracted_copy_is_an_error(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    _fake.make_archive(str(root))
    _fake.make_archive(str(root), form='tree')
    with pytest.raises(ConversionError, match=r'two files claim the \w+ of [\w.]+: .*archive\.zip:\S+ and '
                                              r'.*/archive/\S+\. Pass one copy'):
        deepglobe.convert(str(root), str(tmp_path / 'o'))


def test_missing_and_wrong_archives(raw, tmp_path):
    root, fake = raw
    with pytest.raises(ConversionError, match='not found.*kaggle'):
        deepglobe.convert(str(tmp_path / 'nothing'), str(tmp_path / 'o0'))
    os.remove(fake['path'])
    with pytest.raises(ConversionError, match='no usable DeepGlobe Land Cover image/mask pairs'):
        deepglobe.convert(root, str(tmp_path / 'o1'))
    bad = osp.join(root, 'archive.zip')
    open(bad, 'wb').write(b'not a zip')
    with pytest.raises(ConversionError, match='not a valid zip'):
        deepglobe.convert(bad, str(tmp_path / 'o2'))
    with zipfile.ZipFile(bad, 'w') as zf:
        zf.writestr('images/1.png', b'x')
    with pytest.raises(ConversionError, match='not the DeepGlobe Land Cover archive'):
        deepglobe.convert(bad, str(tmp_path / 'o3'))


@pytest.mark.parametrize('damage,msg', [
    ('corrupt', 'corrupt or unreadable image'),
    ('colour', r'colour \(250, 10, 5\) at \(row 0, col 0\) is not a DeepGlobe class colour'),
    ('size', 'is 44x44 but its mask'),
])
def test_bad_content_names_the_member(raw, tmp_path, damage, msg):
    root, fake = raw
    i = fake['ids'][2]
    img_m, mask_m = f'train/{i}_sat.jpg', f'train/{i}_mask.png'
    if damage == 'corrupt':
        _fake.rewrite_member(fake['path'], img_m, b'\xff\xd8 broken jpeg')
    elif damage == 'colour':
        rgb = np.zeros((44, 44, 3), np.uint8)
        rgb[0, 0] = (250, 10, 5)  # red: binarises to (255, 0, 0), no class
        _fake.rewrite_member(fake['path'], mask_m, _fake.encode(rgb[..., ::-1], '.png'))
    else:
        _fake.rewrite_member(fake['path'], mask_m, _fake.encode(np.zeros((24, 44, 3), np.uint8), '.png'))
    out = str(tmp_path / 'out')
    with pytest.raises(ConversionError, match=msg) as e:
        deepglobe.convert(root, out)
    assert i in str(e.value)
    assert not [f for _, _, fs in os.walk(out) for f in fs if f.startswith(i)]
    assert not osp.isdir(out) or _no_temps(out)
    if damage == 'colour':  # the GLNet-style lenient mode maps it to unknown
        lenient = str(tmp_path / 'lenient')
        deepglobe.convert(root, lenient, unmatched_to_unknown=True)
        split = next(s for s in SPLITS if i in open(osp.join(lenient, 'splits', f'{s}.txt')).read().split())
        assert cv2.imread(osp.join(lenient, 'ann_dir', split, f'{i}.png'), cv2.IMREAD_UNCHANGED)[0, 0] == 0


def test_split_lists_that_match_nothing(raw, tmp_path):
    root, fake = raw
    lists_dir = tmp_path / 'lists'
    lists_dir.mkdir()
    _fake.write_glnet_lists(str(lists_dir), [str(k) for k in range(8)])
    with pytest.raises(ConversionError, match=r"none of the 8 images listed in .* is in the input, e\.g\. "):
        deepglobe.convert(root, str(tmp_path / 'o'), split_lists=str(lists_dir))
    shutil.rmtree(str(lists_dir))
    lists_dir.mkdir()
    _fake.write_glnet_lists(str(lists_dir), fake['ids'][:4] + fake['ids'][:4])
    with pytest.raises(ConversionError, match='is listed in both train and val'):
        deepglobe.convert(root, str(tmp_path / 'o'), split_lists=str(lists_dir))


def test_cli_summary_and_dataset_class(raw, tmp_path):
    root, fake = raw
    out = str(tmp_path / 'out')
    res = subprocess.run([sys.executable, 'data_converters/deepglobe.py', root, '-o', out], cwd=REPO_ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'MISMATCH' in res.stdout  # 8 fake images vs the official 454 / 207 / 142
    assert '8 of the official 8 labelled images' not in res.stderr  # metadata.csv lists 8: nothing missing
    res = subprocess.run([sys.executable, 'data_converters/deepglobe.py', str(tmp_path / 'none'), '-o', out],
                         cwd=REPO_ROOT, capture_output=True, text=True)
    assert res.returncode != 0 and 'deepglobe:' in res.stderr
    from mmengine.registry import init_default_scope
    import rsseg_ext  # noqa: F401
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    ds = DATASETS.build(dict(type='DeepGlobeLandCoverDataset', data_root=out, ann_file='splits/train.txt',
                             data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
                             pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                                       dict(type='PackSegInputs')]))
    names = open(osp.join(out, 'splits', 'train.txt')).read().split()
    assert len(ds) == len(names)
    s = ds[0]
    i = osp.basename(s['data_samples'].img_path)[:-len('.jpg')]
    assert np.array_equal(s['data_samples'].gt_sem_seg.data[0].numpy(), fake['index'][i])
    assert ds.metainfo['classes'][0] == 'unknown' and len(ds.metainfo['palette']) == 7

"""data_converters/loveda.py on fake official archives (tests/data/loveda/data.py)."""
import os
import os.path as osp
import re
import subprocess
import sys
import zipfile

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, load_fake_data

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import loveda  # noqa: E402

_fake = load_fake_data('loveda')
make_archives, png, rewrite_member = _fake.make_archives, _fake.png, _fake.rewrite_member

from _common import TMP_MARK, ConversionError  # noqa: E402


@pytest.fixture()
def raw(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    ids = make_archives(str(root))
    return str(root), ids


def check_provenance(out, truth):
    """Every output image / mask against the fake by pixels (a mask taken for an image fails)."""
    n = 0
    for split in ('train', 'val', 'test'):
        folder = osp.join(out, 'img_dir', split)
        for f in sorted(os.listdir(folder)) if osp.isdir(folder) else []:
            img, mask = truth[f[:-4]]
            got = cv2.imread(osp.join(folder, f), cv2.IMREAD_UNCHANGED)
            assert got.shape == img.shape and np.array_equal(got[..., ::-1], img), f'{split}/{f} is not its image'
            if split != 'test':
                lab = cv2.imread(osp.join(out, 'ann_dir', split, f), cv2.IMREAD_UNCHANGED)
                assert np.array_equal(lab, mask), f'{split}/{f}: not its mask'
            n += 1
    return n


def _files(folder):
    return sorted(f[:-4] for f in os.listdir(folder)) if osp.isdir(folder) else []


@pytest.mark.parametrize('nproc', [1, 2])
def test_converts_official_layout(raw, tmp_path, nproc):
    root, ids = raw
    out = str(tmp_path / f'out{nproc}')
    counts = loveda.convert(root, out, nproc=nproc)
    assert counts == dict(train=5, val=3, test=3)
    for split in ('train', 'val', 'test'):
        assert _files(osp.join(out, 'img_dir', split)) == sorted(ids[split])
    assert _files(osp.join(out, 'ann_dir', 'test')) == []
    # masks copied untouched (0 = no-data kept, values 0..7)
    import zipfile
    with zipfile.ZipFile(osp.join(root, 'Train.zip')) as zf:
        member = [m for m in zf.namelist() if m.endswith(f'masks_png/{ids["train"][0]}.png')][0]
        assert zf.read(member) == open(osp.join(out, 'ann_dir', 'train', f'{ids["train"][0]}.png'), 'rb').read()
    lists = {n[:-4]: open(osp.join(out, 'splits', n)).read().split() for n in os.listdir(osp.join(out, 'splits'))}
    assert sorted(lists['trainval']) == sorted(ids['train'] + ids['val'])
    assert len(lists['train_urban']) == 3 and len(lists['train_rural']) == 2
    assert not [f for _, _, fs in os.walk(out) for f in fs if TMP_MARK in f]


def test_resume_skips_and_repairs(raw, tmp_path, capsys):
    root, ids = raw
    out = str(tmp_path / 'out')
    loveda.convert(root, out)
    keep = osp.join(out, 'img_dir', 'train', f'{ids["train"][0]}.png')
    mtime = os.stat(keep).st_mtime_ns
    gone = osp.join(out, 'img_dir', 'val', f'{ids["val"][0]}.png')
    os.remove(gone)
    stale = osp.join(out, 'img_dir', 'val', f'.{ids["val"][0]}.png{TMP_MARK}abc')
    open(stale, 'wb').write(b'half')
    counts = loveda.convert(root, out)
    assert counts == dict(train=5, val=3, test=3)
    assert osp.isfile(gone) and not osp.exists(stale)
    assert os.stat(keep).st_mtime_ns == mtime
    assert 'already converted (skipped)' in capsys.readouterr().out


def test_provenance_by_pixels(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    truth = {}
    make_archives(str(raw), truth=truth)
    out = str(tmp_path / 'out')
    loveda.convert(str(raw), out)
    assert check_provenance(out, truth) == 11
    for split in ('train', 'val', 'test'):  # every split list names exactly the files written
        assert sorted(open(osp.join(out, 'splits', f'{split}.txt')).read().split()) == \
            _files(osp.join(out, 'img_dir', split))
    # the check can fail: an image replaced by its mask (same basename in masks_png)
    victim = sorted(os.listdir(osp.join(out, 'img_dir', 'train')))[0]
    cv2.imwrite(osp.join(out, 'img_dir', 'train', victim), truth[victim[:-4]][1])
    with pytest.raises(AssertionError, match='is not its image'):
        check_provenance(out, truth)


def test_images_by_folder_not_basename(raw, tmp_path, monkeypatch):
    """Plant basename matching: masks_png/<id>.png then claims the image role too, an error naming it."""
    root, _ = raw
    monkeypatch.setattr(loveda, 'IMAGE_RE', re.compile(r'(?:^|/)(Train|Val|Test)/(Urban|Rural)/[^/]+/([^/]+)\.png$'))
    with pytest.raises(ConversionError, match=r'two files claim the img of Train/Urban/0: .*images_png/0\.png and '
                                              r'.*masks_png/0\.png|masks_png/\d+\.png could be both'):
        loveda.convert(root, str(tmp_path / 'out'))


def test_archives_folder_and_extracted_tree_agree(raw, tmp_path):
    root, _ = raw
    ref = str(tmp_path / 'ref')
    loveda.convert(root, ref)
    zips = [osp.join(root, f) for f in ('Train.zip', 'Val.zip', 'Test.zip')]
    loveda.convert(zips, str(tmp_path / 'o1'))
    tree = str(tmp_path / 'tree')
    _fake.extract_all(root, tree)
    loveda.convert(tree, str(tmp_path / 'o2'))
    for o in ('o1', 'o2'):
        for d, _, fs in os.walk(ref):
            for f in fs:
                other = osp.join(str(tmp_path / o), osp.relpath(osp.join(d, f), ref))
                assert open(osp.join(d, f), 'rb').read() == open(other, 'rb').read()
    _fake.extract_all(root, root)  # archive + extracted copy side by side
    with pytest.raises(ConversionError, match=r'two files claim the img of (\w+)/(\w+)/(\d+): .*\1\.zip:\1/\2/'
                                              r'images_png/\3\.png and .*/\1/\2/images_png/\3\.png'):
        loveda.convert(root, str(tmp_path / 'o3'))


def test_partial_download(raw, tmp_path, capsys):
    root, ids = raw
    os.remove(osp.join(root, 'Val.zip'))  # still downloading
    rewrite_member(osp.join(root, 'Train.zip'), 'Train/Urban/images_png/0.png', None)  # an image lost
    out = str(tmp_path / 'o1')
    counts = loveda.convert(root, out)
    assert counts == dict(train=4, test=3)
    assert _files(osp.join(out, 'img_dir', 'train')) == sorted(ids['train'][1:])
    lists = {n[:-4]: open(osp.join(out, 'splits', n)).read().split() for n in os.listdir(osp.join(out, 'splits'))}
    assert sorted(lists['train']) == sorted(ids['train'][1:]) and 'val' not in lists
    assert lists['test'] and sorted(lists['trainval']) == sorted(ids['train'][1:])
    err = capsys.readouterr().err
    assert '0 of the official 1669 val images found (partial download?)' in err
    assert '4 of the official 2522 train images found' in err
    assert re.search(r'skipped 1 file\(s\), masks without their images_png image: .*masks_png/0\.png', err)
    # not a zip: an error naming it; only masks: nothing usable
    open(osp.join(root, 'Val.zip'), 'wb').write(b'not a zip')
    with pytest.raises(ConversionError, match='not a valid zip'):
        loveda.convert(root, str(tmp_path / 'o2'))
    os.remove(osp.join(root, 'Val.zip'))
    os.remove(osp.join(root, 'Test.zip'))
    with zipfile.ZipFile(osp.join(root, 'Train.zip'), 'w') as zf:
        zf.writestr('Train/Urban/masks_png/1.png', png(np.ones((32, 32), np.uint8)))
    with pytest.raises(ConversionError, match=r'has no usable LoveDA image: no \{Train,Val,Test\}'):
        loveda.convert(root, str(tmp_path / 'o3'))


@pytest.mark.parametrize('damage,msg', [
    ('corrupt', 'corrupt or unreadable image'),
    ('label', r'label value 9 at \(row 0, col 0\) is not a LoveDA label'),
    ('size', 'is 32x32 but its mask'),
])
def test_bad_content_names_the_member(raw, tmp_path, damage, msg):
    root, ids = raw
    zpath = osp.join(root, 'Train.zip')
    img_id = ids['train'][1]
    import zipfile
    with zipfile.ZipFile(zpath) as zf:
        mask_m = [m for m in zf.namelist() if m.endswith(f'masks_png/{img_id}.png')][0]
        img_m = mask_m.replace('masks_png', 'images_png')
    if damage == 'corrupt':
        rewrite_member(zpath, img_m, b'\x89PNG broken')
    elif damage == 'label':
        mask = np.full((32, 32), 9, np.uint8)
        rewrite_member(zpath, mask_m, png(mask))
    else:
        rewrite_member(zpath, mask_m, png(np.ones((16, 32), np.uint8)))
    out = str(tmp_path / 'out')
    with pytest.raises(ConversionError, match=msg) as e:
        loveda.convert(root, out)
    assert img_m.split('/')[-1] in str(e.value)
    # the damaged pair was not written, and nothing partial is left
    assert not osp.exists(osp.join(out, 'img_dir', 'train', f'{img_id}.png'))
    assert not [f for _, _, fs in os.walk(out) for f in fs if TMP_MARK in f]


def test_cli_summary_and_dataset_class(raw, tmp_path):
    root, ids = raw
    out = str(tmp_path / 'out')
    res = subprocess.run([sys.executable, 'data_converters/loveda.py', root, '-o', out, '--nproc', '2'],
                         cwd=REPO_ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'train' in res.stdout and 'MISMATCH' in res.stdout  # 5 fake images vs the official 2522
    # mmseg's LoveDADataset reads the output through a real pipeline: 0 (no-data) -> 255, k -> k-1
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules
    register_all_modules()
    ds = DATASETS.build(dict(type='LoveDADataset', data_root=out,
                             data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
                             pipeline=[dict(type='LoadImageFromFile'),
                                       dict(type='LoadAnnotations', reduce_zero_label=True),
                                       dict(type='PackSegInputs')]))
    assert len(ds) == 5
    sample = ds[0]
    name = osp.basename(sample['data_samples'].img_path)[:-4]
    raw_mask = cv2.imread(osp.join(out, 'ann_dir', 'train', f'{name}.png'), cv2.IMREAD_UNCHANGED)
    gt = sample['data_samples'].gt_sem_seg.data[0].numpy()
    assert (gt[raw_mask == 0] == 255).all()
    assert (gt[raw_mask > 0] == raw_mask[raw_mask > 0] - 1).all()

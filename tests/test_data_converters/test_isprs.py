"""data_converters/potsdam.py and vaihingen.py on fake official downloads (tests/data/isprs/data.py).

Provenance is checked by pixels: every image tile must equal the right product of the right area at the place its
name says, every label tile the right ground truth there; a tile cut from a label image, the DSM or the wrong
image product fails.
"""
import os
import os.path as osp
import re
import shutil
import subprocess
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
from _common import TMP_MARK, ConversionError  # noqa: E402

TINY = dict(tile=32, train_stride=16, test_stride=32)


def check_provenance(out, truth, product, gt=dict(train='full', val='eroded')):
    """Every tile of ``out`` against the fake's products; returns the number of tiles checked per split."""
    seen = {}
    for split in sorted(os.listdir(osp.join(out, 'img_dir'))):
        files = sorted(os.listdir(osp.join(out, 'img_dir', split)))
        assert files == sorted(os.listdir(osp.join(out, 'ann_dir', split)))
        for f in files:
            area, y, x = re.fullmatch(r'(.+)_(\d+)_(\d+)\.png', f).groups()
            y, x = int(y), int(x)
            t = truth[area]
            img = cv2.imread(osp.join(out, 'img_dir', split, f), cv2.IMREAD_UNCHANGED)[..., ::-1]
            h, w = img.shape[:2]
            assert np.array_equal(img, t[product][y:y + h, x:x + w]), f'{split}/{f} is not {product} of {area}'
            lab = cv2.imread(osp.join(out, 'ann_dir', split, f), cv2.IMREAD_UNCHANGED)
            want = t['idx'][y:y + h, x:x + w].astype(np.uint8) + 1
            if gt[split] == 'eroded':
                want[(t['eroded'][y:y + h, x:x + w] == 0).all(-1)] = 0  # mmseg coding: 0 = eroded boundary
            assert np.array_equal(lab, want), f'{split}/{f}: label is not the {gt[split]} GT of {area}'
        names = open(osp.join(out, 'splits', f'{split}.txt')).read().split()
        assert names == [f[:-4] for f in files]
        seen[split] = len(files)
    return seen


def _tiles(sizes, areas, tile, stride):
    return sum(len(slide_grid(*sizes(a), tile, stride)) for a in areas)


def _potsdam_size(a):
    return _fake.POTSDAM_ODD.get(a, (40, 56))


@pytest.fixture()
def potsdam_raw(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    return str(root), make_potsdam(str(root))


@pytest.fixture()
def vaihingen_raw(tmp_path):
    root = tmp_path / 'raw'
    root.mkdir()
    return str(root), make_vaihingen(str(root))


def test_potsdam_rgb_tiles_by_pixels(potsdam_raw, tmp_path):
    root, truth = potsdam_raw
    out = str(tmp_path / 'out')
    counts, expected = _isprs.convert(Potsdam(), root, out, nproc=2, **TINY)
    want = dict(train=_tiles(_potsdam_size, Potsdam.splits['train'], 32, 16),
                val=_tiles(_potsdam_size, Potsdam.splits['val'], 32, 32))
    assert counts == expected == want
    assert check_provenance(out, truth, 'rgb') == want
    assert not [f for _, _, fs in os.walk(out) for f in fs if TMP_MARK in f]


def test_potsdam_irrg_by_flag(potsdam_raw, tmp_path):
    root, truth = potsdam_raw
    out = str(tmp_path / 'out')
    _isprs.convert(Potsdam(), root, out, areas=['2_10', '2_13'], product='irrg', **TINY)
    assert check_provenance(out, truth, 'irrg')
    with pytest.raises(ConversionError, match="unknown Potsdam image product 'dsm'"):
        _isprs.convert(Potsdam(), root, str(tmp_path / 'o2'), product='dsm', **TINY)


def test_vaihingen_top_not_labels_or_dsm(vaihingen_raw, tmp_path, capsys):
    """The image archive holds gts_for_participants/ and the complete GT holds the images' basenames: the tiles
    must still come from top/ (matching by basename made them pixel-identical to the colour labels)."""
    root, truth = vaihingen_raw
    out = str(tmp_path / 'out')
    counts, expected = _isprs.convert(Vaihingen(), root, out, nproc=2, **TINY)
    size = _fake.vaihingen_size
    want = dict(train=_tiles(lambda a: size(int(a)), Vaihingen.splits['train'], 32, 16),
                val=_tiles(lambda a: size(int(a)), Vaihingen.splits['val'], 32, 32))
    assert counts == expected == want
    assert check_provenance(out, truth, 'irrg') == want
    assert 'warning' not in capsys.readouterr().err  # area 9 of the eroded archive is not official: no noise


def test_provenance_check_rejects_label_dsm_and_irrg_tiles(potsdam_raw, tmp_path):
    """The check above is able to fail: swap one image tile for the same window of another product."""
    root, truth = potsdam_raw
    out = str(tmp_path / 'out')
    _isprs.convert(Potsdam(), root, out, areas=['2_10', '2_13'], **TINY)
    victim = osp.join(out, 'img_dir', 'train', '2_10_0_0.png')
    good = open(victim, 'rb').read()
    t = truth['2_10']
    dsm8 = np.repeat(np.clip(t['dsm'], 0, 255).astype(np.uint8)[..., None], 3, -1)
    for wrong in (t['full'], t['irrg'], dsm8):
        cv2.imwrite(victim, np.ascontiguousarray(wrong[:32, :32, ::-1]))
        with pytest.raises(AssertionError, match='is not rgb of 2_10'):
            check_provenance(out, truth, 'rgb')
    open(victim, 'wb').write(good)
    check_provenance(out, truth, 'rgb')


def test_basename_matching_is_refused(vaihingen_raw, tmp_path, monkeypatch):
    """Plant the old bug (images by basename): the member claimed twice is an error naming both members."""
    root, _ = vaihingen_raw
    monkeypatch.setitem(Vaihingen.roles, 'top', re.compile(r'top_mosaic_09cm_area(\d+)\.tif$'))
    with pytest.raises(ConversionError, match=r'gts_for_participants/top_mosaic_09cm_area1\.tif|could be both'):
        _isprs.convert(Vaihingen(), root, str(tmp_path / 'out'), **TINY)
    from _sources import Member, assign
    twice = [Member('', 'x/top/a1.tif', 'x/top/a1.tif')]
    with pytest.raises(ConversionError, match=r'x/top/a1\.tif could be both the image and the label'):
        assign(twice, dict(image=re.compile(r'top/a(\d)'), label=re.compile(r'a(\d)\.tif')), exclusive=True)


def _same_tree(a, b):
    files = sorted(osp.relpath(osp.join(d, f), a) for d, _, fs in os.walk(a) for f in fs)
    assert files == sorted(osp.relpath(osp.join(d, f), b) for d, _, fs in os.walk(b) for f in fs)
    for f in files:
        assert open(osp.join(a, f), 'rb').read() == open(osp.join(b, f), 'rb').read(), f


@pytest.mark.parametrize('maker,spec,areas', [(make_potsdam, Potsdam, ['2_10', '3_13']),
                                              (make_vaihingen, Vaihingen, [1, 2])])
def test_archives_folder_and_extracted_trees_agree(tmp_path, maker, spec, areas):
    raw = tmp_path / 'raw'
    raw.mkdir()
    truth = maker(str(raw), areas)
    ref = str(tmp_path / 'ref')
    _isprs.convert(spec(), str(raw), ref, **TINY)
    assert sum(check_provenance(ref, truth, 'rgb' if spec is Potsdam else 'irrg').values())
    zips = sorted(str(p) for p in raw.iterdir())
    _isprs.convert(spec(), zips, str(tmp_path / 'zips'), **TINY)  # the archives themselves
    _same_tree(ref, str(tmp_path / 'zips'))
    for into in (True, False):  # extracted into folders named like the archives, or in place (torchgeo)
        tree = str(tmp_path / f'tree{into}')
        _fake.extract_all(str(raw), tree, into_folders=into)
        _isprs.convert(spec(), tree, str(tmp_path / f'out{into}'), **TINY)
        _same_tree(ref, str(tmp_path / f'out{into}'))
    # an archive next to its extracted copy: two members for one role, both named
    _fake.extract_all(str(raw), str(raw))
    with pytest.raises(ConversionError, match='two files claim'):
        _isprs.convert(spec(), str(raw), str(tmp_path / 'both'), **TINY)


def test_rasters_in_unknown_folders_are_named(tmp_path, capsys):
    """Labels extracted into a folder the converter cannot place: skipped and named, not guessed."""
    raw = tmp_path / 'raw'
    raw.mkdir()
    make_potsdam(str(raw), ['2_10', '2_13'], products=['2_Ortho_RGB.zip', '5_Labels_all.zip'])
    _fake.extract_all(str(raw), str(tmp_path / 'tree'))
    os.rename(tmp_path / 'tree' / '5_Labels_all', tmp_path / 'tree' / 'labels')
    with pytest.raises(ConversionError, match='has no usable Potsdam area'):
        _isprs.convert(Potsdam(), str(tmp_path / 'tree'), str(tmp_path / 'out'), **TINY)
    assert re.search(r'skipped 2 file\(s\), rasters outside the official product folders .*'
                     r'labels/top_potsdam_2_10_label\.tif', capsys.readouterr().err)


def test_outer_download_archive_is_explained(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    make_potsdam(str(raw), ['2_10'], products=['2_Ortho_RGB.zip'])
    with zipfile.ZipFile(tmp_path / 'Potsdam.zip', 'w') as zf:  # the download packs the product archives
        zf.write(raw / '2_Ortho_RGB.zip', 'Potsdam/2_Ortho_RGB.zip')
    with pytest.raises(ConversionError, match=r'Potsdam/2_Ortho_RGB\.zip is an archive inside an archive.*'
                                              'extract the outer archive once'):
        _isprs.convert(Potsdam(), str(tmp_path / 'Potsdam.zip'), str(tmp_path / 'out'), **TINY)


def test_partial_downloads(tmp_path, capsys):
    raw = tmp_path / 'raw'
    raw.mkdir()
    # a resumed download: five areas, and the eroded archive not yet there
    truth = make_potsdam(str(raw), ['2_10', '2_11', '7_12', '2_13', '4_15'],
                         products=['2_Ortho_RGB.zip', '5_Labels_all.zip', '1_DSM.zip'])
    out = str(tmp_path / 'out')
    counts, expected = _isprs.convert(Potsdam(), str(raw), out, **TINY)
    assert counts == expected == dict(train=3 * len(slide_grid(40, 56, 32, 16)))
    check_provenance(out, truth, 'rgb')
    err = capsys.readouterr().err
    assert '35 official areas not found (partial download?), converting the 3 there' in err
    assert '2_13 (eroded label)' in err and '2_14 (rgb image and eroded label)' in err
    assert '3_10 (rgb image and full label)' in err
    # the training areas from the participants' labels when the complete ones are missing
    os.remove(raw / '5_Labels_all.zip')
    make_potsdam(str(raw), ['2_10', '2_11', '7_12', '2_13', '4_15'], products=['5_Labels_for_participants.zip'])
    counts, _ = _isprs.convert(Potsdam(), str(raw), str(tmp_path / 'o2'), **TINY)
    assert counts == dict(train=3 * len(slide_grid(40, 56, 32, 16)))
    check_provenance(str(tmp_path / 'o2'), truth, 'rgb')
    # nothing usable: labels without images, or images without labels
    os.remove(raw / '2_Ortho_RGB.zip')
    with pytest.raises(ConversionError, match=r'has no usable Potsdam area \(image \+ label\).*2_Ortho_RGB\.zip'):
        _isprs.convert(Potsdam(), str(raw), str(tmp_path / 'o3'), **TINY)


def test_vaihingen_partial_uses_participants_gt(tmp_path, capsys):
    raw = tmp_path / 'raw'
    raw.mkdir()
    truth = make_vaihingen(str(raw), [1, 3, 2], products=['ISPRS_semantic_labeling_Vaihingen.zip'])
    out = str(tmp_path / 'out')
    counts, _ = _isprs.convert(Vaihingen(), str(raw), out, **TINY)  # train: full GT from gts_for_participants
    assert set(counts) == {'train'} and check_provenance(out, truth, 'irrg') == counts
    err = capsys.readouterr().err
    assert '31 official areas not found' in err and 'area2 (eroded label)' in err


def test_cli_partial_download_summary(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    make_potsdam(str(raw), ['2_10', '2_13'])
    out = str(tmp_path / 'out')
    res = subprocess.run([sys.executable, 'data_converters/potsdam.py', str(raw), '-o', out, '--tile', '32',
                          '--train-stride', '16', '--test-stride', '32'], cwd=REPO_ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'areas converted: train 1 of 24, val 1 of 14' in res.stdout
    assert '36 official areas not found' in res.stderr
    res = subprocess.run([sys.executable, 'data_converters/potsdam.py', str(tmp_path / 'nothing'), '-o', out],
                         cwd=REPO_ROOT, capture_output=True, text=True)
    assert res.returncode != 0 and 'not found' in res.stderr and 'Traceback' not in res.stderr


def test_potsdam_resume(potsdam_raw, tmp_path, capsys):
    root, _ = potsdam_raw
    out = str(tmp_path / 'out')
    counts, _ = _isprs.convert(Potsdam(), root, out, **TINY)
    victim = osp.join(out, 'ann_dir', 'val', '5_15_0_0.png')
    os.remove(victim)
    counts2, _ = _isprs.convert(Potsdam(), root, out, **TINY)
    assert counts2 == counts and osp.isfile(victim)
    assert '37 of 38 items already converted' in capsys.readouterr().out


def test_off_palette_official_labels_are_snapped(tmp_path, capsys):
    """4_12 (lossy) and 6_7 (cars 252,255,0) as distributed: decoded to the right classes, with a warning."""
    raw = tmp_path / 'raw'
    raw.mkdir()
    truth = make_potsdam(str(raw), ['4_12', '6_7', '2_10'])
    with zipfile.ZipFile(raw / '5_Labels_all.zip') as zf:
        lossy = zf.read('top_potsdam_4_12_label.tif')
    assert lossy != _tif_bytes(truth['4_12']['full'])  # the fake really is off the palette
    out = str(tmp_path / 'out')
    _isprs.convert(Potsdam(), str(raw), out, **TINY)
    assert check_provenance(out, truth, 'rgb')['train'] > 0
    err = capsys.readouterr().err
    assert 'top_potsdam_4_12_label.tif: ' in err and 'top_potsdam_6_7_label.tif: ' in err
    assert 'snapped to the nearest palette colour' in err and 'top_potsdam_2_10_label' not in err


@pytest.mark.parametrize('colour,msg', [((12, 134, 56), 'nor within 95 of one of its colours'),
                                        ((255, 0, 255), 'is not in the dataset palette')])
def test_unknown_colour_is_reported(tmp_path, colour, msg):
    """Mid-grey channels (an image taken for a label) and magenta (a cube corner that is no ISPRS class)."""
    raw = tmp_path / 'raw'
    raw.mkdir()
    truth = make_potsdam(str(raw), ['3_11'])
    bad = truth['3_11']['full'].copy()
    bad[5, 7] = colour
    with zipfile.ZipFile(raw / '5_Labels_all.zip', 'w') as zf:
        zf.writestr('top_potsdam_3_11_label.tif', _tif_bytes(bad))
    out = str(tmp_path / 'out')
    with pytest.raises(ConversionError, match=rf'top_potsdam_3_11_label\.tif: colour \({colour[0]}, {colour[1]}, '
                                              rf'{colour[2]}\) at \(row 5, col 7\) .*{msg}'):
        _isprs.convert(Potsdam(), str(raw), out, **TINY)
    assert not [f for _, _, fs in os.walk(out) for f in fs if TMP_MARK in f]


def test_vaihingen_mmseg_preset(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    truth = make_vaihingen(str(raw), [1, 2, 3])
    out = str(tmp_path / 'out')
    _isprs.convert(Vaihingen(), str(raw), out, preset='mmseg', tile=32, train_stride=16, test_stride=16)
    check_provenance(out, truth, 'irrg', gt=dict(train='eroded', val='eroded'))  # mmseg: eroded GT for train too


def test_dataset_class_reads_output(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    make_potsdam(str(raw), ['2_13', '3_13'])
    out = str(tmp_path / 'out')
    _isprs.convert(Potsdam(), str(raw), out, **TINY)
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules
    register_all_modules()
    ds = DATASETS.build(dict(type='PotsdamDataset', data_root=out,  # reduce_zero_label=True (its default)
                             data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
                             pipeline=[dict(type='LoadImageFromFile'),
                                       dict(type='LoadAnnotations', reduce_zero_label=True),
                                       dict(type='PackSegInputs')]))
    assert len(ds) == 2 * len(slide_grid(40, 56, 32, 32))
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
    _same_tree(*outs)
    with pytest.raises(ConversionError, match='unknown Potsdam area'):
        _isprs.convert(Potsdam(), root, str(tmp_path / 'x'), areas=['9_99'], **TINY)
    shutil.rmtree(outs[0])

import os
import os.path as osp
import resource
import stat
import subprocess
import sys
import zipfile

import cv2
import numpy as np
import pytest

from conftest import REPO_ROOT, process_umask
from rsseg_ext.evaluation import make_loveda_submission, make_uavid_submission


def _preds(folder, names, high):
    folder.mkdir()
    rng = np.random.default_rng(0)
    arrs = {}
    for n in names:
        arrs[n] = rng.integers(0, high, (8, 10), dtype=np.uint8)
        cv2.imwrite(str(folder / f'{n}.png'), arrs[n])
    return arrs


def test_loveda_zip_is_flat_and_zero_based(tmp_path):
    arrs = _preds(tmp_path / 'p', ['3514', '3515'], 7)
    out = str(tmp_path / 'sub.zip')
    assert make_loveda_submission(str(tmp_path / 'p'), out, expected=2) == 2
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ['3514.png', '3515.png']
        back = cv2.imdecode(np.frombuffer(zf.read('3515.png'), np.uint8), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(back, arrs['3515'])


def test_loveda_rejects_one_based_and_wrong_count(tmp_path):
    _preds(tmp_path / 'p', ['1', '2'], 8)  # values up to 7 = mmseg's +1 coding
    with pytest.raises(ValueError, match='LoveDA wants 0..6'):
        make_loveda_submission(str(tmp_path / 'p'), str(tmp_path / 's.zip'), expected=2)
    assert not osp.exists(tmp_path / 's.zip')
    with pytest.raises(ValueError, match='has 1796 images'):
        make_loveda_submission(str(tmp_path / 'p'), str(tmp_path / 's.zip'))


def test_uavid_colour_layout(tmp_path):
    arrs = _preds(tmp_path / 'p', ['seq21_000000', 'seq21_000100'], 8)
    out = str(tmp_path / 'u.zip')
    res = subprocess.run([sys.executable, 'tools/misc/make_submission.py', 'uavid', str(tmp_path / 'p'), out],
                         cwd=REPO_ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ['seq21/Labels/000000.png', 'seq21/Labels/000100.png']
        rgb = cv2.imdecode(np.frombuffer(zf.read('seq21/Labels/000100.png'), np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
    colours = np.array(make_uavid_submission.__globals__['UAVID_COLOURS'], np.uint8)
    assert np.array_equal(rgb, colours[arrs['seq21_000100']])


def test_zip_write_refused_by_the_os_leaves_nothing(tmp_path):
    """Under a file-size limit the zip is not left half-written: the CLI exits 1 with one line naming the zip and
    the fix, and the folder holds no zip and no temp file; under umask 027 a written zip is 0640."""
    (tmp_path / 'p').mkdir()
    (tmp_path / 'out').mkdir()
    out = str(tmp_path / 'out' / 'u.zip')
    big = np.random.default_rng(1).integers(0, 8, (256, 256), dtype=np.uint8)  # noise: the PNGs do not shrink
    for i in range(6):
        cv2.imwrite(str(tmp_path / 'p' / f'seq1_{i:06d}.png'), big)
    res = subprocess.run([sys.executable, 'tools/misc/make_submission.py', 'uavid', str(tmp_path / 'p'), out],
                         cwd=REPO_ROOT, capture_output=True, text=True,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000)))
    assert res.returncode == 1 and 'Traceback' not in res.stderr, res.stderr[-2000:]
    assert res.stderr.strip().splitlines()[-1] == (
        f'make_submission: could not write {out}: file too large (file-size limit, see ulimit -f): raise the limit '
        'or write elsewhere, then rerun')
    assert os.listdir(tmp_path / 'out') == []
    with process_umask(0o027):
        assert make_uavid_submission(str(tmp_path / 'p'), out) == 6
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640 and os.listdir(tmp_path / 'out') == ['u.zip']
    assert os.path.getsize(out) > 20000  # the limit did cut it

"""The stock launch path end to end on CPU: tools/dist_train.sh with 2 gloo processes, tools/dist_test.sh,
--resume from the work_dir, and the checkpoint-trust policy in tools/test.py."""
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import DEMO_CONFIG, REPO_ROOT, tiny_cfg_options, tool_env

pytestmark = pytest.mark.timeout(600)


def _run(cmd, timeout=300):
    res = subprocess.run(cmd, cwd=REPO_ROOT, env=tool_env(), capture_output=True, text=True, timeout=timeout)
    return res, res.stdout + res.stderr


@pytest.fixture(scope='module')
def dist_work_dir(tmp_path_factory, synthetic_data_root):
    """Train the tiny demo config for 2 iterations with tools/dist_train.sh on 2 CPU processes."""
    work_dir = str(tmp_path_factory.mktemp('dist_train'))
    res, out = _run(['bash', 'tools/dist_train.sh', DEMO_CONFIG, '2', '--work-dir', work_dir,
                     '--cfg-options', *tiny_cfg_options(synthetic_data_root, iters=2)])
    assert res.returncode == 0, out[-4000:]
    return work_dir, out


def test_dist_train_runs_two_gloo_processes(dist_work_dir):
    work_dir, out = dist_work_dir
    if torch.cuda.is_available():
        pytest.skip('this checks the CPU fallback')
    # each of the 2 ranks announces the fallback; mmengine's environment dump reports the world size
    assert out.count('distributed run on CPU with gloo') == 2, out[-3000:]
    assert 'Distributed training: True' in out and 'GPU number: 2' in out
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    manifest = json.load(open(osp.join(work_dir, '.rsseg_ext_checkpoints.json')))
    assert 'iter_2.pth' in manifest
    assert 'SyncBN -> BN' in out


def test_dist_test_evaluates_checkpoint(dist_work_dir, synthetic_data_root, tmp_path):
    work_dir, _ = dist_work_dir
    ckpt = osp.join(work_dir, 'iter_2.pth')
    test_dir = str(tmp_path / 'test')
    res, out = _run(['bash', 'tools/dist_test.sh', DEMO_CONFIG, ckpt, '2', '--work-dir', test_dir,
                     '--cfg-options', *tiny_cfg_options(synthetic_data_root)])
    assert res.returncode == 0, out[-4000:]
    assert 'mIoU' in out
    results = glob.glob(osp.join(test_dir, '*', '*.json'))
    assert results, f'no metric json in {test_dir}'
    metrics = json.load(open(results[0]))
    assert 0.0 <= metrics['mIoU'] <= 100.0


def test_resume_continues_iterations(tmp_path, synthetic_data_root):
    work_dir = str(tmp_path / 'resume')
    opts = tiny_cfg_options(synthetic_data_root, iters=2)
    res, out = _run([sys.executable, 'tools/train.py', DEMO_CONFIG, '--work-dir', work_dir,
                     '--cfg-options', *opts])
    assert res.returncode == 0, out[-4000:]
    # same run, longer schedule: --resume picks up iter_2.pth from the work_dir and continues to 4
    opts4 = [o for o in opts if not o.startswith(('train_cfg.max_iters', 'default_hooks.checkpoint.interval'))]
    opts4 += ['train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=2']
    res, out = _run([sys.executable, 'tools/train.py', DEMO_CONFIG, '--work-dir', work_dir, '--resume',
                     '--cfg-options', *opts4])
    assert res.returncode == 0, out[-4000:]
    assert 'resumed epoch: 0, iter: 2' in out, out[-3000:]
    assert 'Iter(train) [3/4]' in out and 'Iter(train) [1/4]' not in out
    assert osp.isfile(osp.join(work_dir, 'iter_4.pth'))
    ckpt = torch.load(osp.join(work_dir, 'iter_4.pth'), weights_only=False)
    assert ckpt['meta']['iter'] == 4


def test_untrusted_checkpoints_are_refused(dist_work_dir, synthetic_data_root, tmp_path):
    work_dir, _ = dist_work_dir
    opts = tiny_cfg_options(synthetic_data_root)
    # foreign: a full checkpoint copied somewhere no training run recorded it
    foreign = str(tmp_path / 'foreign' / 'model.pth')
    os.makedirs(osp.dirname(foreign))
    shutil.copy(osp.join(work_dir, 'iter_2.pth'), foreign)
    res, out = _run([sys.executable, 'tools/test.py', DEMO_CONFIG, foreign, '--work-dir', str(tmp_path / 't1'),
                     '--cfg-options', *opts])
    assert res.returncode != 0
    assert 'Refusing to unpickle checkpoint' in out and '--trust-checkpoint' in out
    # tampered: same folder as its manifest, but the bytes changed since the run recorded them
    tampered_dir = str(tmp_path / 'tampered')
    shutil.copytree(work_dir, tampered_dir)
    with open(osp.join(tampered_dir, 'iter_2.pth'), 'ab') as f:
        f.write(b'\0')
    res, out = _run([sys.executable, 'tools/test.py', DEMO_CONFIG, osp.join(tampered_dir, 'iter_2.pth'),
                     '--work-dir', str(tmp_path / 't2'), '--cfg-options', *opts])
    assert res.returncode != 0
    assert 'Refusing to unpickle checkpoint' in out
    # the explicit flag is the way out for a file the user trusts
    res, out = _run([sys.executable, 'tools/test.py', DEMO_CONFIG, foreign, '--trust-checkpoint',
                     '--work-dir', str(tmp_path / 't3'), '--cfg-options', *opts])
    assert res.returncode == 0, out[-4000:]
    assert 'mIoU' in out


def test_test_tool_out_show_dir_and_tta(dist_work_dir, synthetic_data_root, tmp_path):
    work_dir, _ = dist_work_dir
    ckpt = osp.join(work_dir, 'iter_2.pth')
    out_dir, show_dir = str(tmp_path / 'preds'), str(tmp_path / 'show')
    res, out = _run([sys.executable, 'tools/test.py', DEMO_CONFIG, ckpt, '--work-dir', str(tmp_path / 'w'),
                     '--out', out_dir, '--show-dir', show_dir, '--tta',
                     '--cfg-options', *tiny_cfg_options(synthetic_data_root),
                     'default_hooks.visualization.interval=1'])  # mmseg draws every 50th image by default
    assert res.returncode == 0, out[-4000:]
    val_imgs = sorted(os.listdir(osp.join(synthetic_data_root, 'img_dir', 'val')))
    preds = sorted(os.listdir(out_dir))
    assert preds == val_imgs  # one label PNG per test image
    from PIL import Image
    import numpy as np
    arr = np.array(Image.open(osp.join(out_dir, preds[0])))
    assert arr.shape == (64, 64) and arr.max() < 6
    shown = [f for _, _, fs in os.walk(show_dir) for f in fs if f.endswith('.png')]
    assert len(shown) == len(val_imgs)

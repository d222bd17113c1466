"""RSSegMetric keeps mmseg's IoUMetric key names (so ``save_best='mFscore'`` and log analysis work) and adds ours.

Reference: mmseg's own IoUMetric on the same predictions (every class present and predicted, where the two agree
by definition; they differ only for a class present but never predicted: NaN in mmseg, 0 here)."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import DEMO_CONFIG, REPO_ROOT, tiny_cfg_options, tool_env
from mmengine.logging import MMLogger

import rsseg_ext  # noqa: F401
from mmseg.registry import METRICS

CLASSES = ('a', 'b', 'c', 'd')


def _samples(seed=0):
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(3):
        gt = rng.integers(0, 4, (16, 16))
        pred = np.where(rng.random((16, 16)) < 0.7, gt, rng.integers(0, 4, (16, 16)))
        gt[:2] = 255  # ignored pixels
        samples.append(dict(pred_sem_seg=dict(data=torch.from_numpy(pred)[None]),
                            gt_sem_seg=dict(data=torch.from_numpy(gt)[None])))
    return samples


def _evaluate(cfg):
    MMLogger.get_instance('rsseg_metric_keys')
    metric = METRICS.build(cfg)
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, _samples())
    return metric.evaluate(3)


def test_mmseg_key_names_with_mmseg_values():
    ref = _evaluate(dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice', 'mFscore']))
    ours = _evaluate(dict(type='RSSegMetric', iou_metrics=['mIoU', 'mFscore']))
    assert {'mIoU', 'mFscore', 'mPrecision', 'mRecall', 'aAcc', 'mAcc', 'mDice'} <= set(ref) <= set(ours)
    for key in ref:
        assert ours[key] == pytest.approx(ref[key], abs=0.011), key  # both rounded to 2 decimals
    assert ours['mF1'] == ours['mFscore'] and ours['OA'] == ours['aAcc']
    assert {'OA', 'Kappa', 'mF1', 'fwIoU'} <= set(ours)
    assert next(iter(ours)) == 'mIoU'  # mmengine's save_best='auto' takes the first key


def test_beta_other_than_one_is_refused():
    with pytest.raises(ValueError, match='beta=2'):
        METRICS.build(dict(type='RSSegMetric', beta=2))


def test_save_best_mfscore_keeps_a_best_checkpoint(synthetic_data_root, tmp_path):
    work = str(tmp_path / 'wd')
    res = subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), DEMO_CONFIG, '--work-dir', work, '--cfg-options']
        + tiny_cfg_options(synthetic_data_root)
        + ['default_hooks.checkpoint.save_best=mFscore', 'default_hooks.checkpoint.rule=greater'],
        cwd=str(tmp_path), env=tool_env(), capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert osp.isfile(osp.join(work, 'best_mFscore_iter_2.pth')), sorted(__import__('os').listdir(work))
    assert 'mFscore' in res.stdout + res.stderr

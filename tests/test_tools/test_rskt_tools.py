"""RSKT-Seg through the tools: the parameter budget printed by get_complexity.py (docs/methods/), and a tiny CPU
training run (tools/train.py) followed by the OVRSISBench runner's zero-shot evaluation on two test sets, one with
another vocabulary (other names, other size) than training."""
import json
import os.path as osp
import re
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, tool_env

sys.path.insert(0, osp.join(REPO_ROOT, 'tests', 'test_models', 'test_rskt'))
from rskt_tiny import tiny_model_overrides  # noqa: E402

pytestmark = pytest.mark.timeout(600)
B16_DLRSD = osp.join(REPO_ROOT, 'configs', 'rskt_seg', 'rskt-seg_vit-b16_dlrsd.py')
# see docs/methods/: trainable 34.30 M (N=5); frozen: CLIP rest ~129 M, RemoteCLIP visual ~88 M, DINO ViT-B/8 ~86 M
SPEC_TRAINABLE_B16 = 34.30e6
SPEC_TOTAL_B16 = 34.30e6 + 129e6 + 88e6 + 86e6


def test_get_complexity_params_match_spec_budget():
    res = subprocess.run([sys.executable, 'tools/analysis/get_complexity.py', B16_DLRSD, '--params-only'],
                         cwd=REPO_ROOT, env=tool_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    m = re.search(r'params:\s+([\d.]+) M \(trainable ([\d.]+) M\)', res.stdout)
    assert m, res.stdout
    total, trainable = float(m.group(1)) * 1e6, float(m.group(2)) * 1e6
    assert abs(trainable - SPEC_TRAINABLE_B16) / SPEC_TRAINABLE_B16 < 0.02, res.stdout
    assert abs(total - SPEC_TOTAL_B16) / SPEC_TOTAL_B16 < 0.02, res.stdout
    parts = {line.split()[0]: line.split()[1:] for line in res.stdout.splitlines() if line.split()[:1]}
    assert float(parts['backbone'][1]) == pytest.approx(20.447, abs=1e-3)  # CLIP q+v of both towers
    assert float(parts['dino'][1]) == 0 and float(parts['remote_clip'][1]) == 0  # frozen


SYN4 = ('water', 'forest', 'road', 'building')  # a subset of the synthetic classes, in another order
SYN4_VOCAB = ['lake water', 'woodland', 'street', 'house']  # other prompt names for the same labels


def _tiny_config(tmp_path, data_root: str) -> str:
    model = tiny_model_overrides(64)
    model['data_preprocessor'] = dict(size=(64, 64))
    text = f"""_base_ = [{B16_DLRSD!r}]
model = {model!r}
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                  dict(type='RandomCrop', crop_size=(64, 64)), dict(type='PackSegInputs')]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='PackSegInputs')]
_syn = dict(type='SyntheticLandCoverDataset', data_root={data_root!r}, ann_file='')
train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, dataset=dict(
    _syn, data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'), pipeline=train_pipeline))
# in-training validation already zero-shot: 4 of the 6 classes, the dataset's names (VocabularyHook)
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(
    _syn, data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'), pipeline=test_pipeline,
    metainfo=dict(classes={SYN4!r})))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=2, eta_min=0.0, by_epoch=False, begin=0, end=2)]
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=2))
"""
    path = tmp_path / 'rskt_tiny_synthetic.py'
    path.write_text(text)
    return str(path)


def _bench_config(tmp_path, data_root: str) -> str:
    text = f"""benchmark_datasets = ['syn6', 'syn4']
benchmark_titles = dict(syn6='Synthetic-6', syn4='Synthetic-4')
_tp = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='PackSegInputs')]
_val = dict(img_path='img_dir/val', seg_map_path='ann_dir/val')
ovrsis_test_sets = dict(
    syn6=dict(type='SyntheticLandCoverDataset', data_root={data_root!r}, data_prefix=_val, pipeline=_tp),
    syn4=dict(type='SyntheticLandCoverDataset', data_root={data_root!r}, data_prefix=_val, pipeline=_tp,
              metainfo=dict(classes={SYN4!r})))
ovrsis_vocabularies = dict(syn4={SYN4_VOCAB!r})  # syn6: the dataset's own class names
benchmark_evaluator = dict(type='RSSegMetric', iou_metrics=['mIoU'])
"""
    path = tmp_path / 'bench.py'
    path.write_text(text)
    return str(path)


def test_tiny_train_then_zero_shot_benchmark(tmp_path, synthetic_data_root):
    cfg = _tiny_config(tmp_path, synthetic_data_root)
    work_dir = str(tmp_path / 'train')
    res = subprocess.run([sys.executable, 'tools/train.py', cfg, '--work-dir', work_dir], cwd=REPO_ROOT,
                         env=tool_env(), capture_output=True, text=True, timeout=500)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-5000:]
    assert 'decode.loss_sem_seg' in out and 'mIoU' in out
    ckpt = osp.join(work_dir, 'iter_2.pth')
    assert osp.isfile(ckpt)

    results = str(tmp_path / 'bench.json')
    res = subprocess.run([sys.executable, 'tools/ovrsis_benchmark.py', cfg, ckpt, '--bench',
                          _bench_config(tmp_path, synthetic_data_root), '--work-dir', str(tmp_path / 'bench'),
                          '--out', results, '--name', 'tiny', '--num-workers', '0'],
                         cwd=REPO_ROOT, env=tool_env(), capture_output=True, text=True, timeout=500)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-5000:]
    table = out[out.index('OVRSISBench results'):]
    assert 'Synthetic-6' in table and 'Synthetic-4' in table and 'm-mIoU/m-mACC' in table
    summary = json.load(open(results))
    assert set(summary['datasets']) == {'syn6', 'syn4'}
    for r in summary['datasets'].values():
        assert 0 <= r['mIoU'] <= 100 and 0 <= r['mAcc'] <= 100
    m = (summary['datasets']['syn6']['mIoU'] + summary['datasets']['syn4']['mIoU']) / 2
    assert summary['m_mIoU'] == pytest.approx(m)
    # syn6 used the dataset's class names (VocabularyHook), syn4 the benchmark's vocabulary list (other names)
    assert 'RSKTSeg vocabulary (6 names): farmland, building, road, water, forest, bare_soil' in out
    assert 'RSKTSeg vocabulary (4 names): lake water, woodland, street, house' in out

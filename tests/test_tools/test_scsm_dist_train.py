"""A tiny 2-process CPU run of the SCSM Vaihingen config through tools/dist_train.sh: trains 2 iterations on the
synthetic tiles, checkpoints and evaluates."""
import os.path as osp
import subprocess

import pytest
import torch

from conftest import REPO_ROOT, tool_env

pytestmark = pytest.mark.timeout(600)
CONFIG = osp.join(REPO_ROOT, 'configs', 'scsm', 'scsm_r50-d8_vaihingen.py')


def scsm_tiny_options(data_root: str, iters: int = 2) -> list:
    """Tiny ResNetV1c-18 (no pretrained weights), narrow SCSM/FCN heads, SyntheticLandCoverDataset (6 classes)."""
    opts = ['model.backbone.depth=18', 'model.backbone.base_channels=16', 'model.backbone.stem_channels=16',
            'model.backbone.init_cfg=None', 'model.decode_head.in_channels=128', 'model.decode_head.channels=32',
            'model.decode_head.transform_channels=16', 'model.auxiliary_head.in_channels=64',
            'model.auxiliary_head.channels=16', 'model.data_preprocessor.size=(64,64)',
            f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            f'default_hooks.checkpoint.interval={iters}', f'param_scheduler.0.end={iters}',
            'default_hooks.logger.interval=1', 'train_dataloader.batch_size=2',
            'train_dataloader.dataset.pipeline.1.reduce_zero_label=False',
            'train_dataloader.dataset.pipeline.3.crop_size=(64,64)',
            'val_evaluator.exclude_classes=None', 'test_evaluator.exclude_classes=None']
    for k in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{k}.dataset.type=SyntheticLandCoverDataset', f'{k}.dataset.data_root={data_root}',
                 f'{k}.num_workers=0', f'{k}.persistent_workers=False']
    for k in ('val_dataloader', 'test_dataloader'):
        opts.append(f'{k}.dataset.pipeline.1.reduce_zero_label=False')
    return opts


def test_scsm_dist_train_two_processes(tmp_path, synthetic_data_root):
    work_dir = str(tmp_path / 'scsm')
    res = subprocess.run(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir', work_dir, '--cfg-options',
                          *scsm_tiny_options(synthetic_data_root)],
                         cwd=REPO_ROOT, env=tool_env(), capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    if not torch.cuda.is_available():
        assert out.count('distributed run on CPU with gloo') == 2, out[-3000:]
    assert 'decode.pre.loss_ce' in out and 'aux.loss_ce' in out
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    assert 'mIoU' in out and 'Iter(val)' in out

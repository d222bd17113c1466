"""The headline command at CPU scale: tools/dist_train.sh configs/d2ls/d2ls_convnext_loveda.py 2 with tiny
overrides (ConvNeXt-atto widths, the synthetic 6-class tiles, 2 iterations) trains, checkpoints and evaluates."""
import json
import os.path as osp
import subprocess

import pytest
import torch

from conftest import REPO_ROOT, tool_env

pytestmark = pytest.mark.timeout(600)
D2LS_CONFIG = osp.join(REPO_ROOT, 'configs', 'd2ls', 'd2ls_convnext_loveda.py')


def d2ls_tiny_cfg_options(data_root: str, iters: int = 2) -> list:
    """--cfg-options turning the LoveDA D2LS config into a seconds-long CPU run on the synthetic tiles."""
    opts = ['model.backbone.arch=atto', 'model.backbone.init_cfg=None', 'model.backbone.drop_path_rate=0.0',
            'model.decode_head.in_channels=[40,80,160,320]', 'model.decode_head.channels=32',
            'model.decode_head.num_heads=2', 'model.decode_head.num_classes=6',
            'model.data_preprocessor.size=(64,64)',
            f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            f'default_hooks.checkpoint.interval={iters}', f'param_scheduler.0.end={iters}',
            f'param_scheduler.0.T_max={iters}', 'default_hooks.logger.interval=1',
            'train_dataloader.dataset.pipeline.0.img_scale=(64,64)',
            'train_dataloader.dataset.pipeline.1.scales=[(64,64),(80,80)]',
            'train_dataloader.dataset.pipeline.2.crop_size=(64,64)']
    for i, split in enumerate(('train', 'val')):
        key = f'train_dataloader.dataset.dataset.datasets.{i}'
        opts += [f'{key}.type=SyntheticLandCoverDataset', f'{key}.data_root={data_root}',
                 f'{key}.pipeline.1.reduce_zero_label=False']
    for k in ('val_dataloader', 'test_dataloader'):
        opts += [f'{k}.dataset.type=SyntheticLandCoverDataset', f'{k}.dataset.data_root={data_root}',
                 f'{k}.dataset.pipeline.1.reduce_zero_label=False']
    for k in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{k}.num_workers=0', f'{k}.persistent_workers=False']
    return opts


def test_d2ls_dist_train_two_gloo_processes(tmp_path, synthetic_data_root):
    work_dir = str(tmp_path / 'd2ls')
    res = subprocess.run(['bash', 'tools/dist_train.sh', D2LS_CONFIG, '2', '--work-dir', work_dir,
                          '--cfg-options', *d2ls_tiny_cfg_options(synthetic_data_root)],
                         cwd=REPO_ROOT, env=tool_env(), capture_output=True, text=True, timeout=500)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-5000:]
    if not torch.cuda.is_available():
        assert out.count('distributed run on CPU with gloo') == 2, out[-3000:]
    for key in ('loss_ce:', 'loss_dice:', 'loss_ce_static:', 'loss_dice_static:', 'loss_dict_con:'):
        assert key in out, key
    assert 'mIoU' in out
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    best = [f for f in json.load(open(osp.join(work_dir, '.rsseg_ext_checkpoints.json'))) if f.startswith('best')]
    assert best, 'save_best=mIoU wrote no best checkpoint'

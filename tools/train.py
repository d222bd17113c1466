"""Train a segmentor: mmseg's tools/train.py with rsseg_ext imported, a CPU (gloo) fallback for distributed
runs, and the checkpoint-safety policy (see rsseg_ext/engine/checkpoint.py).

    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp] [--cfg-options k=v ...]
    tools/dist_train.sh CONFIG GPUS [args]
"""
import argparse
import logging
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the checkout, if not pip-installed

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import rsseg_ext  # noqa: E402,F401  (registers modules, installs the checkpoint loader)
from mmseg.registry import RUNNERS  # noqa: E402
from rsseg_ext.engine import (setup_cpu_distributed, teardown_distributed, trust_checkpoint,  # noqa: E402
                              use_dist_safe_logger)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        action='store_true',
        default=False,
        help='resume from the latest checkpoint in the work_dir automatically')
    parser.add_argument(
        '--amp', action='store_true', default=False, help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        default=False,
        help='allow unpickling the load_from checkpoint even though no run in its folder recorded it '
        '(only for files you trust: unpickling runs code from the file)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair in xxx=yyy format will be '
        'merged into config file. If the value to be overwritten is a list, it should be like key="[a,b]" '
        'or key=a,b. It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]". Note that the '
        'quotation marks are necessary and that no white space is allowed.')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK instead
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()

    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # work_dir is determined in this priority: CLI > segment in file > filename
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.amp is True:
        optim_wrapper = cfg.optim_wrapper.type
        if optim_wrapper == 'AmpOptimWrapper':
            print_log('AMP training is already enabled in your config.', logger='current',
                      level=logging.WARNING)
        else:
            assert optim_wrapper == 'OptimWrapper', (
                '`--amp` is only supported when the optimizer wrapper type is '
                f'`OptimWrapper` but got {optim_wrapper}.')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    cfg.resume = args.resume
    if args.trust_checkpoint and cfg.get('load_from'):
        trust_checkpoint(cfg.load_from)

    # the run records the checkpoints it writes, so that its own --resume may unpickle them
    hooks = cfg.get('custom_hooks') or []
    if not any(isinstance(h, dict) and h.get('type') == 'CheckpointManifestHook' for h in hooks):
        cfg.custom_hooks = list(hooks) + [dict(type='CheckpointManifestHook')]

    setup_cpu_distributed(cfg, args.launcher)
    use_dist_safe_logger(cfg)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)

    try:
        runner.train()
    finally:
        teardown_distributed()


if __name__ == '__main__':
    main()

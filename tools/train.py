"""Train a segmentor: mmseg's tools/train.py with rsseg_ext imported, a CPU (gloo) fallback for distributed
runs, and the checkpoint-safety policy (see rsseg_ext/engine/checkpoint.py).

    python tools/train.py CONFIG [--work-dir DIR] [--resume] [--amp] [--cfg-options k=v ...]
    tools/dist_train.sh CONFIG GPUS [args]
"""
import argparse
import logging
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the checkout, if not pip-installed

from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import rsseg_ext  # noqa: E402,F401  (registers modules, installs the checkpoint loader)
from mmseg.registry import RUNNERS  # noqa: E402
from rsseg_ext.engine import (BadCheckpointError, UntrustedCheckpointError,  # noqa: E402
                              teardown_distributed, trust_config_checkpoints)
from rsseg_ext.engine.cli import (add_runner_args, load_runner_cfg, parse_runner_args,  # noqa: E402
                                  prepare_launch)
from rsseg_ext.utils.config_weights import MissingWeightsError, check_config_weights  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        action='store_true',
        default=False,
        help='resume from the latest checkpoint in the work_dir automatically')
    parser.add_argument(
        '--amp', action='store_true', default=False, help='enable automatic-mixed-precision training')
    add_runner_args(
        parser,
        trust_help='allow unpickling the checkpoints this config names (load_from, pretrained init_cfg '
        'checkpoints) even though no run recorded them (only for files you trust: unpickling runs code)')
    return parse_runner_args(parser)


def main():
    args = parse_args()
    cfg = load_runner_cfg(args)

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
    try:  # before ~seconds of building model, datasets and optimizer; init_weights would fail only after
        check_config_weights(cfg)
    except MissingWeightsError as e:
        sys.exit(f'train.py: {e}')
    if args.trust_checkpoint:
        trust_config_checkpoints(cfg)

    # the run records the checkpoints it writes, so that its own --resume may unpickle them
    hooks = cfg.get('custom_hooks') or []
    if not any(isinstance(h, dict) and h.get('type') == 'CheckpointManifestHook' for h in hooks):
        cfg.custom_hooks = list(hooks) + [dict(type='CheckpointManifestHook')]

    prepare_launch(cfg, args.launcher)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    try:
        runner.train()
    except (BadCheckpointError, UntrustedCheckpointError) as e:
        sys.exit(f'train.py: {e}')
    finally:
        teardown_distributed()


if __name__ == '__main__':
    main()

"""Test (and evaluate) a segmentor: mmseg's tools/test.py with rsseg_ext imported, a CPU (gloo) fallback for
distributed runs, and checkpoints loaded with torch.load(weights_only=True) unless the file was recorded by its
own training run or --trust-checkpoint is given (see rsseg_ext/engine/checkpoint.py).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR] [--show-dir DIR] [--tta]
    tools/dist_test.sh CONFIG CHECKPOINT GPUS [args]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # the checkout, if not pip-installed

from mmengine.runner import Runner  # noqa: E402

import rsseg_ext  # noqa: E402,F401
from rsseg_ext.engine import (BadCheckpointError, UntrustedCheckpointError,  # noqa: E402
                              teardown_distributed, trust_checkpoint)
from rsseg_ext.engine.cli import (add_runner_args, load_runner_cfg, parse_runner_args,  # noqa: E402
                                  prepare_launch)


def parse_args():
    parser = argparse.ArgumentParser(description='MMSeg test (and eval) a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', type=str, help='The directory to save output prediction for offline evaluation')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved. If specified, it will be automatically saved '
        'to the work_dir/timestamp/show_dir')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument('--tta', action='store_true', help='Test time augmentation')
    add_runner_args(
        parser,
        trust_help='allow unpickling CHECKPOINT even though no training run in its folder recorded it '
        '(only for files you trust: unpickling runs code from the file)')
    return parse_runner_args(parser)


def trigger_visualization_hook(cfg, args):
    default_hooks = cfg.default_hooks
    if 'visualization' in default_hooks:
        visualization_hook = default_hooks['visualization']
        visualization_hook['draw'] = True
        if args.show:
            visualization_hook['show'] = True
            visualization_hook['wait_time'] = args.wait_time
        if args.show_dir:
            visualizer = cfg.visualizer
            visualizer['save_dir'] = args.show_dir
    else:
        raise RuntimeError('VisualizationHook must be included in default_hooks. Refer to usage '
                           '"visualization=dict(type=\'VisualizationHook\')"')
    return cfg


def main():
    args = parse_args()

    cfg = load_runner_cfg(args)

    if not osp.isfile(args.checkpoint):
        sys.exit(f'test.py: checkpoint {args.checkpoint} does not exist: pass the path of a .pth file '
                 '(e.g. work_dirs/<config>/iter_N.pth).')
    cfg.load_from = args.checkpoint
    if args.trust_checkpoint:
        trust_checkpoint(args.checkpoint)

    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)

    if args.tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model

    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True

    prepare_launch(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    try:
        runner.test()
    except (BadCheckpointError, UntrustedCheckpointError) as e:
        sys.exit(f'test.py: {e}')
    finally:
        teardown_distributed()


if __name__ == '__main__':
    main()

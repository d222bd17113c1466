"""Argument and config handling shared by ``tools/train.py``, ``tools/test.py`` (mmseg's behaviour)."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

from .dist_utils import setup_cpu_distributed, use_dist_safe_logger


def add_runner_args(parser: argparse.ArgumentParser, trust_help: str) -> None:
    """Arguments every runner tool takes: --work-dir, --trust-checkpoint, --cfg-options, --launcher, --local-rank."""
    parser.add_argument('--work-dir', help='the dir to save logs, models and metric results')
    parser.add_argument('--trust-checkpoint', action='store_true', default=False, help=trust_help)
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


def parse_runner_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_runner_cfg(args: argparse.Namespace) -> Config:
    """``Config.fromfile`` + launcher + ``--cfg-options``; work_dir: CLI > config > ./work_dirs/<config name>."""
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg


def prepare_launch(cfg: Config, launcher: str) -> None:
    """CPU (gloo) fallback when there is no CUDA, the rank-0-only metrics JSON, and batched slide inference.

    Batched slide: a model ``type='EncoderDecoder'`` (or ``CascadeEncoderDecoder``) whose
    ``test_cfg=dict(mode='slide', ..., batch_windows=N)`` sets ``batch_windows`` becomes
    ``BatchedSlideEncoderDecoder``: its slide mode runs N windows per forward through the scene engine
    (``rsseg_ext.apis``), results equal to mmseg's slide mode (blend ``'mean'``, within 1e-5).
    """
    setup_cpu_distributed(cfg, launcher)
    use_dist_safe_logger(cfg)
    from rsseg_ext.models.segmentors.batched_slide import use_batched_slide
    use_batched_slide(cfg.get('model'))

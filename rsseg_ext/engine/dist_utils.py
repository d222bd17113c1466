"""Distributed launch helpers shared by ``tools/train.py`` and ``tools/test.py``.

On GPUs nothing changes (nccl, SyncBN, ``device_ids=[LOCAL_RANK]``). On a machine without CUDA the same
``tools/dist_train.sh CONFIG N`` runs N gloo processes: mmengine's pytorch launcher calls
``torch.cuda.set_device`` unconditionally and wraps the model with ``device_ids=[LOCAL_RANK]``, and SyncBN has
no CPU kernel, so those three are adapted here.
"""
from typing import Any

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log

_SYNC_BN_TYPES = ('SyncBN', 'MMSyncBN', 'SyncBatchNorm')


def sync_bn_to_bn(node: Any) -> int:
    """Replace SyncBN norm types by BN in a config subtree, in place; returns how many were replaced."""
    n = 0
    if isinstance(node, dict):
        if node.get('type') in _SYNC_BN_TYPES:
            node['type'] = 'BN'
            n += 1
        for v in node.values():
            n += sync_bn_to_bn(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            n += sync_bn_to_bn(v)
    return n


def _noop_set_device(*args, **kwargs) -> None:
    return None


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Adapt ``cfg`` for a multi-process run without CUDA. Returns True when it did.

    - ``torch.cuda.set_device`` becomes a no-op in this process (only when CUDA is absent);
    - ``env_cfg.dist_cfg.backend = 'gloo'``;
    - ``model_wrapper_cfg`` gets ``device_ids=None`` (keeping any wrapper options the config set);
    - SyncBN -> BN in ``cfg.model``.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    torch.cuda.set_device = _noop_set_device
    env_cfg = cfg.setdefault('env_cfg', {})
    env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    n = sync_bn_to_bn(cfg.model)
    print_log(f'No CUDA: distributed run on CPU with gloo (device_ids=None, {n} SyncBN -> BN)',
              logger='current')
    return True


def use_dist_safe_logger(cfg: Config) -> None:
    """Swap a configured mmengine ``LoggerHook`` for :class:`DistSafeLoggerHook` (same arguments)."""
    logger = cfg.get('default_hooks', {}).get('logger')
    if isinstance(logger, dict) and logger.get('type') in ('LoggerHook', 'mmengine.LoggerHook'):
        logger['type'] = 'DistSafeLoggerHook'


def teardown_distributed() -> None:
    """Barrier + process-group teardown at exit (gloo runs crashed at exit now and then without it)."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()

import torch
from mmengine.config import Config

from rsseg_ext.engine import setup_cpu_distributed
from conftest import DEMO_CONFIG


def test_no_change_without_launcher():
    cfg = Config.fromfile(DEMO_CONFIG)
    assert not setup_cpu_distributed(cfg, 'none')
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    assert cfg.get('model_wrapper_cfg') is None


def test_cpu_fallback_rewrites_config(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(torch.cuda, 'set_device', torch.cuda.set_device)  # restored after the test
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
    assert setup_cpu_distributed(cfg, 'pytorch')
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None
    assert cfg.model_wrapper_cfg.find_unused_parameters is True  # the config's own options are kept
    assert cfg.model.backbone.norm_cfg.type == 'BN'
    assert cfg.model.decode_head.norm_cfg.type == 'BN'
    torch.cuda.set_device(3)  # a no-op now instead of an error


def test_gpu_path_untouched(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = Config.fromfile(DEMO_CONFIG)
    assert not setup_cpu_distributed(cfg, 'pytorch')
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'


def test_dist_safe_logger_swap():
    from mmseg.registry import HOOKS

    import rsseg_ext  # noqa: F401
    from rsseg_ext.engine import use_dist_safe_logger
    cfg = Config.fromfile(DEMO_CONFIG)
    use_dist_safe_logger(cfg)
    assert cfg.default_hooks.logger.type == 'DistSafeLoggerHook'
    assert cfg.default_hooks.logger.interval == 10  # arguments kept
    hook = HOOKS.build(cfg.default_hooks.logger)
    assert type(hook).__name__ == 'DistSafeLoggerHook'

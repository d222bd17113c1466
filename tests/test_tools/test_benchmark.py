"""tools/analysis/benchmark.py: FPS and peak memory through the config's own test path."""
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from conftest import DEMO_CONFIG, REPO_ROOT, tool_env

TOOL = osp.join(REPO_ROOT, 'tools', 'analysis', 'benchmark.py')


def _run(*args):
    return subprocess.run([sys.executable, TOOL, DEMO_CONFIG, *args], capture_output=True, text=True,
                          env=tool_env(), cwd=REPO_ROOT, timeout=300)


def _field(out: str, name: str) -> str:
    m = re.search(rf'^{name}:\s+(.*)$', out, re.M)
    assert m, f'{name} missing in:\n{out}'
    return m.group(1)


def test_whole_and_slide_mode_report_speed_and_memory():
    p = _run('--shape', '48', '80', '--iters', '2', '--warmup', '1', '--device', 'cpu')
    assert p.returncode == 0, p.stderr[-3000:]
    assert "2 timed iterations" in _field(p.stdout, 'input') and '48x80' in _field(p.stdout, 'input')
    ms = float(re.match(r'([\d.]+) ms/img', _field(p.stdout, 'latency')).group(1))
    fps = float(re.match(r'([\d.]+) img/s', _field(p.stdout, 'throughput')).group(1))
    assert ms > 0 and abs(fps - 1000 / ms) / fps < 0.02
    peak, over, base = map(float, re.match(r'(\d+) MB peak RSS \((\d+) MB over the model-only (\d+) MB\)',
                                           _field(p.stdout, 'peak mem')).groups())
    assert peak >= base > 50 and over <= peak
    params = float(_field(p.stdout, 'params').split()[0])
    cfg = Config.fromfile(DEMO_CONFIG)
    assert params > 0.1 and cfg.model.type  # a real model was built

    p = _run('--shape', '96', '96', '--iters', '1', '--warmup', '0', '--batch', '2', '--cfg-options',
             "model.test_cfg.mode='slide'", 'model.test_cfg.crop_size=(64,64)', 'model.test_cfg.stride=(32,32)')
    assert p.returncode == 0, p.stderr[-3000:]
    assert "test mode 'slide'" in _field(p.stdout, 'input') and _field(p.stdout, 'input').startswith('2 x 96x96')


def test_checkpoint_is_loaded_and_bad_paths_fail(tmp_path):
    from mmengine.registry import DefaultScope

    from mmseg.registry import MODELS
    from rsseg_ext.engine.dist_utils import sync_bn_to_bn
    cfg = Config.fromfile(DEMO_CONFIG)
    sync_bn_to_bn(cfg.model)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'w.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    p = _run(ckpt, '--shape', '32', '32', '--iters', '1', '--warmup', '0')
    assert p.returncode == 0, p.stderr[-3000:]
    assert _field(p.stdout, 'checkpoint') == ckpt
    p = _run(str(tmp_path / 'missing.pth'), '--shape', '32', '32', '--iters', '1')
    assert p.returncode != 0 and 'missing.pth' in p.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the no-CUDA message')
def test_cuda_request_without_cuda_is_a_clear_error():
    p = _run('--device', 'cuda', '--iters', '1')
    assert p.returncode == 2 and 'no CUDA device' in p.stderr

import atexit
import contextlib
import os
import os.path as osp
import shutil
import socket
import sys
import tempfile

import pytest

# never reach for a hub in tests (open_clip / huggingface); everything must be local
os.environ.setdefault('HF_HUB_OFFLINE', '1')
# the checkpoint-trust key of this test session (inherited by the tools run in subprocesses), never the user's own
os.environ['RSSEG_EXT_CONFIG_DIR'] = tempfile.mkdtemp(prefix='rsseg_ext_test_config_')
atexit.register(shutil.rmtree, os.environ['RSSEG_EXT_CONFIG_DIR'], True)
os.environ.pop('RSSEG_EXT_TRUSTED_CHECKPOINTS', None)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(REPO_ROOT, 'configs', 'demo', 'fcn_r18-tiny_synthetic.py')


@contextlib.contextmanager
def one_torch_thread():
    """One intra-op torch thread while the block runs: tiny tensors gain nothing from threads, and on a busy
    2-core machine OpenMP barriers made tiny-model tests ~20x slower (a descheduled worker stalls every op)."""
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


@contextlib.contextmanager
def file_size_limit(nbytes: int):
    """RLIMIT_FSIZE (``ulimit -f``) of this process while the block runs: every write past ``nbytes`` fails
    with EFBIG (Python ignores SIGXFSZ). Only the soft limit changes; it is restored after."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


@contextlib.contextmanager
def process_umask(mask: int):
    """``os.umask(mask)`` while the block runs."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture(scope='session')
def repo_root() -> str:
    return REPO_ROOT


@pytest.fixture(scope='session')
def synthetic_data_root(tmp_path_factory) -> str:
    """A tiny synthetic dataset in mmseg layout (4 train + 4 val tiles of 64 px)."""
    from rsseg_ext.utils.synthetic import make_synthetic_dataset
    root = str(tmp_path_factory.mktemp('synthetic'))
    make_synthetic_dataset(root, num_scenes=dict(train=1, val=1), scene_size=128, tile=64, seed=3)
    return root


def tiny_cfg_options(data_root: str, iters: int = 2) -> list:
    """--cfg-options that shrink the demo config to a few-second CPU run on ``data_root``."""
    opts = [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            f'default_hooks.checkpoint.interval={iters}', f'param_scheduler.0.end={iters}',
            'default_hooks.logger.interval=1', 'train_dataloader.batch_size=2',
            'train_dataloader.dataset.pipeline.2.scale=(64,64)',
            'train_dataloader.dataset.pipeline.3.crop_size=(64,64)', 'model.data_preprocessor.size=(64,64)']
    for k in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{k}.dataset.data_root={data_root}', f'{k}.num_workers=0', f'{k}.persistent_workers=False']
    return opts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tool_env() -> dict:
    env = dict(os.environ)
    env['PYTHON'] = sys.executable
    env['PYTHONPATH'] = REPO_ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env['PORT'] = str(free_port())
    env.setdefault('OMP_NUM_THREADS', '1')
    return env


def load_fake_data(name: str):
    """The fake-archive generator tests/data/<name>/data.py, imported under a unique module name."""
    import importlib.util
    path = osp.join(REPO_ROOT, 'tests', 'data', name, 'data.py')
    spec = importlib.util.spec_from_file_location(f'fake_data_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Payload:
    """A hostile pickle with a harmless payload: unpickling it runs ``exec``, which only writes ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')", ))


def hostile_checkpoint(path, marker) -> str:
    """A checkpoint that looks like a training run's but runs the payload when unpickled; returns its path."""
    import torch
    torch.save(dict(state_dict=dict(w=torch.ones(2)), meta=dict(note=Payload(marker))), str(path))
    return str(path)

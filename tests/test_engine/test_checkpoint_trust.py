"""Checkpoint trust against hostile files: a pickle payload (it writes a marker file) must never run, whatever
sidecar comes with it, on every in-process loading path; bad files get one line naming them.

The attacker's means are the ones the policy must withstand: the file's bytes, a sidecar written by hand (hash
only, or with a made-up signature), a sidecar signed with *another* user's key, a sidecar copied along with the
file into another folder, a config text in a checkpoint that loads with ``weights_only=True``.
"""
import json
import os
import os.path as osp
import shutil
import stat
import subprocess
import sys

import pytest
import torch
from mmengine.runner.checkpoint import _load_checkpoint, load_checkpoint

import rsseg_ext  # noqa: F401
from rsseg_ext.engine import BadCheckpointError, UntrustedCheckpointError, load_checkpoint_file, trust_checkpoint
from rsseg_ext.engine import trust as trust_mod
from rsseg_ext.engine.trust import (CONFIG_DIR_ENV, MANIFEST_NAME, TRUST_ENV, TrustKeyError, file_sha256,
                                    is_trusted, record_checkpoint)
from rsseg_ext.models.utils.weight_loading import load_local_state_dict
from rsseg_ext.utils.safe_config import UnsafeConfigText, config_from_text

from conftest import REPO_ROOT, hostile_checkpoint as hostile, tool_env


@pytest.fixture
def other_user(tmp_path, monkeypatch):
    """Run a block as another user: another config folder, so another key."""
    import contextlib
    own = os.environ[CONFIG_DIR_ENV]

    @contextlib.contextmanager
    def as_other():
        monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / 'other_user_config'))
        try:
            yield
        finally:
            monkeypatch.setenv(CONFIG_DIR_ENV, own)
    return as_other


def _sidecar(folder, name, **entry):
    with open(osp.join(folder, MANIFEST_NAME), 'w') as f:
        json.dump({name: entry}, f)


def _loaders():
    def mmengine_load(path):
        return _load_checkpoint(path, map_location='cpu')  # load_from, --resume, init_model, Pretrained init_cfg

    def mmengine_into_model(path):
        return load_checkpoint(torch.nn.Linear(1, 2), path, map_location='cpu')

    def converter_read(path):
        return load_local_state_dict(path, what='release checkpoint')  # model converters, LocalPretrained

    return [load_checkpoint_file, mmengine_load, mmengine_into_model, converter_read]


def _forgeries(tmp_path, marker, other_user):
    """(description, path) of a payload checkpoint with each kind of forged trust."""
    out = []
    d = tmp_path / 'bare'
    d.mkdir()
    out.append(('no sidecar', hostile(d / 'iter_1.pth', marker)))
    d = tmp_path / 'hash_only'
    d.mkdir()
    p = hostile(d / 'iter_1.pth', marker)
    _sidecar(d, 'iter_1.pth', sha256=file_sha256(p), size=osp.getsize(p))  # the old, unsigned format
    out.append(('sidecar with the hash only', p))
    d = tmp_path / 'made_up_mac'
    d.mkdir()
    p = hostile(d / 'iter_1.pth', marker)
    _sidecar(d, 'iter_1.pth', sha256=file_sha256(p), size=osp.getsize(p), run='x', mac='0' * 64)
    out.append(('sidecar with a made-up signature', p))
    d = tmp_path / 'other_key'
    d.mkdir()
    p = hostile(d / 'iter_1.pth', marker)
    with other_user():
        record_checkpoint(p, run='attacker')  # a real signature, with the attacker's own key
    out.append(("sidecar signed with another user's key", p))
    return out


def test_payload_never_runs_with_forged_sidecars(tmp_path, other_user):
    marker = tmp_path / 'MARKER'
    trust_mod.user_key(create=True)  # the victim has a key (has trained before): forgeries must still fail
    for what, path in _forgeries(tmp_path, marker, other_user):
        assert not is_trusted(path), what
        for load in _loaders():
            with pytest.raises((UntrustedCheckpointError, RuntimeError)):
                load(path)
            assert not marker.exists(), f'payload ran: {what} via {load.__name__}'


def test_own_record_is_bound_to_its_folder(tmp_path):
    marker = tmp_path / 'MARKER'
    run_dir = tmp_path / 'work_dir'
    run_dir.mkdir()
    path = hostile(run_dir / 'iter_2.pth', marker)  # stands for a checkpoint the user's own run wrote
    record_checkpoint(path, run='my_run')
    assert is_trusted(path)
    copied = tmp_path / 'elsewhere'
    shutil.copytree(run_dir, copied)  # .pth and sidecar together, into another folder
    assert not is_trusted(str(copied / 'iter_2.pth'))
    with pytest.raises(UntrustedCheckpointError, match='python -m rsseg_ext.trust'):
        load_checkpoint_file(str(copied / 'iter_2.pth'))
    with open(path, 'ab') as f:  # the recorded file, changed afterwards
        f.write(b'\0')
    assert not is_trusted(path)
    assert not marker.exists()


def test_trust_routes_for_stock_tools(tmp_path, monkeypatch):
    """python -m rsseg_ext.trust (content, any folder), the environment variable, and --check/--revoke."""
    marker = tmp_path / 'MARKER'
    path = hostile(tmp_path / 'mine.pth', marker)
    env = tool_env()
    cli = [sys.executable, '-m', 'rsseg_ext.trust']
    check = subprocess.run(cli + ['--check', path], env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    assert check.returncode == 1 and 'NOT trusted' in check.stdout
    res = subprocess.run(cli + [path], env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    assert res.returncode == 0 and 'trusted' in res.stdout, res.stderr
    moved = str(tmp_path / 'moved.pth')
    os.replace(path, moved)
    assert is_trusted(moved)  # the user vouched for the bytes, wherever they are
    assert not marker.exists()
    load_checkpoint_file(moved)
    assert marker.exists()  # the one path where the user asked for exactly this
    marker.unlink()
    res = subprocess.run(cli + ['--revoke', moved], env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    assert res.returncode == 0 and 'revoked' in res.stdout
    assert not is_trusted(moved)
    (tmp_path / 'listed').mkdir()
    other = hostile(tmp_path / 'listed' / 'x.pth', marker)
    assert not is_trusted(other)
    monkeypatch.setenv(TRUST_ENV, str(tmp_path / 'listed'))
    assert is_trusted(other)
    monkeypatch.setenv(TRUST_ENV, str(tmp_path / 'unrelated') + os.pathsep + moved)
    assert not is_trusted(other) and is_trusted(moved)


def test_key_readable_by_others_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / 'cfg'))
    key = trust_mod.user_key()
    key_path = tmp_path / 'cfg' / trust_mod.KEY_NAME
    assert len(key) == 32 and stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / 'cfg').st_mode) == 0o700
    assert trust_mod.user_key() == key  # created once
    os.chmod(key_path, 0o644)
    p = hostile(tmp_path / 'a.pth', tmp_path / 'MARKER')
    with pytest.raises(TrustKeyError, match='chmod 600'):
        record_checkpoint(p)
    with pytest.raises(TrustKeyError):
        is_trusted(p)
    assert not (tmp_path / 'MARKER').exists()


def test_explicit_trust_still_works(tmp_path):
    marker = tmp_path / 'MARKER'
    path = hostile(tmp_path / 'x.pth', marker)
    trust_checkpoint(path)
    load_checkpoint_file(path)
    assert marker.exists()


@pytest.mark.parametrize('content,what', [
    (b'', 'empty'),
    (b'<!DOCTYPE html><html><head><title>Sign in</title></head></html>', 'HTML'),
    (bytes(range(256)) * 16, 'not a PyTorch checkpoint'),
    (b'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1\n', 'Git LFS pointer'),
])
def test_bad_files_get_one_line(tmp_path, content, what):
    path = tmp_path / 'model.pth'
    path.write_bytes(content)
    for load in (load_checkpoint_file, lambda p: _load_checkpoint(p, map_location='cpu')):
        with pytest.raises(BadCheckpointError) as e:
            load(str(path))
        msg = str(e.value)
        assert '\n' not in msg and str(path) in msg and what in msg
    with pytest.raises(RuntimeError, match=what):
        load_local_state_dict(str(path))


def test_truncated_checkpoint(tmp_path):
    full = tmp_path / 'full.pth'
    torch.save(dict(state_dict=dict(w=torch.randn(1000))), str(full))
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(full.read_bytes()[:len(full.read_bytes()) // 2])
    with pytest.raises(BadCheckpointError, match=r'cut\.pth is truncated or corrupt'):
        load_checkpoint_file(str(cut))


def test_config_text_is_never_executed(tmp_path):
    marker = tmp_path / 'MARKER'
    for text in [f"import os\nmodel = dict(type='X')\nopen({str(marker)!r}, 'w')",
                 f"model = dict(type=open({str(marker)!r}, 'w').name)",
                 f"model = dict(type='X', x=[i for i in open({str(marker)!r}, 'w')])",
                 "model = dict(**__builtins__)",
                 f"model = __import__('os').system('touch {marker}')"]:
        with pytest.raises(UnsafeConfigText):
            config_from_text(text)
        assert not marker.exists()
    cfg = config_from_text("model = dict(type='EncoderDecoder', size=(512, 512), lr=-1e-4, ids=[1, 2], "
                           "d={'a b': None, 'c': True}, m=inf)\ncrop_size = (64, 64)\n")
    assert cfg.model.size == (512, 512) and cfg.model.lr == -1e-4 and cfg.model.d['a b'] is None
    assert cfg.crop_size == (64, 64) and cfg.model.m == float('inf')


def test_real_pretty_text_round_trips(repo_root):
    """What mmengine writes into meta['cfg'] (Config.pretty_text) reads back equal, without executing it."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(repo_root, 'configs', 'demo', 'fcn_r18-tiny_synthetic.py'))
    back = config_from_text(cfg.pretty_text)
    assert back.to_dict() == Config.fromstring(cfg.pretty_text, file_format='.py').to_dict()


@pytest.mark.parametrize('init_type', ['Pretrained', 'LocalPretrained'])
def test_init_cfg_refuses_payload(tmp_path, other_user, init_type):
    """A backbone's init_cfg pointing at a payload with another user's signed sidecar: init_weights refuses."""
    from mmengine.model import BaseModule

    from mmseg.registry import MODELS  # noqa: F401  (LocalPretrained lives in mmseg's WEIGHT_INITIALIZERS)
    marker = tmp_path / 'MARKER'
    path = hostile(tmp_path / 'backbone.pth', marker)
    with other_user():
        record_checkpoint(path, run='attacker')

    class Net(BaseModule):

        def __init__(self):
            super().__init__(init_cfg=dict(type=init_type, checkpoint=path))
            self.w = torch.nn.Parameter(torch.zeros(2))

    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmseg'):
        with pytest.raises(UntrustedCheckpointError):
            Net().init_weights()
    assert not marker.exists()

"""tools/publish_model.py: a weights_only-loadable checkpoint, sha-named, refused when keys don't fit."""
import os
import os.path as osp
import re
import resource
import stat
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer

from conftest import DEMO_CONFIG, REPO_ROOT, process_umask

sys.path.insert(0, osp.join(REPO_ROOT, 'tools'))
from publish_model import publish  # noqa: E402

import rsseg_ext  # noqa: E402,F401
from rsseg_ext.engine import UntrustedCheckpointError, record_checkpoint  # noqa: E402
from rsseg_ext.engine.dist_utils import sync_bn_to_bn  # noqa: E402


@pytest.fixture()
def training_ckpt(tmp_path):
    """A full training checkpoint as mmengine writes it, recorded by 'its run'."""
    from mmengine.registry import DefaultScope

    from mmseg.registry import MODELS
    cfg = Config.fromfile(DEMO_CONFIG)
    sync_bn_to_bn(cfg.model)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    classes = ['farmland', 'building', 'road', 'water', 'forest', 'bare_soil']
    ckpt = dict(
        meta=dict(cfg=cfg.pretty_text, iter=120, dataset_meta=dict(classes=tuple(classes), palette=[[1, 2, 3]] * 6,
                                                                    label_map=None)),
        state_dict=model.state_dict(), message_hub=HistoryBuffer([1.0], [1]), optimizer={'state': {}})
    (tmp_path / 'work').mkdir()
    path = str(tmp_path / 'work' / 'iter_120.pth')
    torch.save(ckpt, path)
    record_checkpoint(path)
    return path, model, cfg


def test_publish_is_safe_and_equivalent(training_ckpt, tmp_path):
    path, model, cfg = training_ckpt
    final = publish(path, str(tmp_path / 'pub' / 'fcn_demo.pth'))
    assert re.fullmatch(r'fcn_demo-[0-9a-f]{8}\.pth', osp.basename(final))
    pub = torch.load(final, weights_only=True)
    assert set(pub) == {'state_dict', 'meta'}
    assert pub['meta']['dataset_meta']['classes'][1] == 'building'
    assert 'rsseg_ext_version' in pub['meta'] and 'model = dict(' in pub['meta']['config']
    for k, v in model.state_dict().items():
        assert torch.equal(pub['state_dict'][k], v)
    # the stock inference API loads it (weights_only path) and computes the same function
    from mmseg.apis import init_model
    cfg_inf = Config.fromfile(DEMO_CONFIG)
    sync_bn_to_bn(cfg_inf.model)
    loaded = init_model(cfg_inf, final, device='cpu')
    assert loaded.dataset_meta['classes'][0] == 'farmland'
    x = torch.rand(1, 3, 64, 64)
    model.eval()
    with torch.no_grad():
        assert torch.allclose(loaded._forward(x), model._forward(x), atol=1e-6)


def test_refuses_keys_that_do_not_build_the_model(training_ckpt, tmp_path):
    path, model, cfg = training_ckpt
    ckpt = torch.load(path, weights_only=False)
    ckpt['state_dict'].pop('decode_head.conv_seg.weight')
    ckpt['state_dict']['extra.weight'] = torch.zeros(1)
    torch.save(ckpt, path)
    record_checkpoint(path)
    with pytest.raises(ValueError, match='missing keys: decode_head.conv_seg.weight.*unexpected keys: extra'):
        publish(path, str(tmp_path / 'bad.pth'))
    assert not list((tmp_path).glob('bad*'))


def test_cli_refuses_untrusted_and_accepts_flag(training_ckpt, tmp_path):
    path, _, _ = training_ckpt
    foreign = str(tmp_path / 'foreign.pth')
    with open(path, 'rb') as f, open(foreign, 'wb') as g:
        g.write(f.read())
    cmd = [sys.executable, 'tools/publish_model.py', foreign, str(tmp_path / 'out' / 'm.pth')]
    res = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    assert res.returncode != 0 and 'Refusing to unpickle' in res.stderr
    res = subprocess.run(cmd + ['--trust-checkpoint'], cwd=REPO_ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'published' in res.stdout and 'weights_only=True' in res.stdout


def test_cli_write_refused_by_the_os_leaves_nothing(training_ckpt, tmp_path):
    """Under a file-size limit smaller than the published file: exit 1, one line naming the output and the fix,
    no file and no temp file in the output folder. Under umask 027 the published file is 0640."""
    path, _, _ = training_ckpt
    out_dir = tmp_path / 'out'
    limit = os.path.getsize(path) // 4  # the weights alone are far larger

    res = subprocess.run([sys.executable, 'tools/publish_model.py', path, str(out_dir / 'm.pth')], cwd=REPO_ROOT,
                         capture_output=True, text=True,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert res.returncode == 1, res.stderr[-2000:]
    assert 'Traceback' not in res.stderr
    assert res.stderr.strip().splitlines()[-1] == (
        f'publish_model: could not write {out_dir / "m.pth"}: file too large (file-size limit, see ulimit -f): '
        'raise the limit or write elsewhere, then rerun')
    assert os.listdir(out_dir) == []
    with process_umask(0o027):
        final = publish(path, str(tmp_path / 'pub' / 'm.pth'))
    assert stat.S_IMODE(os.stat(final).st_mode) == 0o640
    assert os.listdir(tmp_path / 'pub') == [osp.basename(final)]

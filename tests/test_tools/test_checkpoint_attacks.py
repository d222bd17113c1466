"""Every tool that reads a checkpoint, against a pickle payload (it writes a marker file) that comes with a forged
trust sidecar, and a weights-only checkpoint whose config text carries code: the marker never appears, the tool
exits non-zero and says why. Complements tests/test_engine/test_checkpoint_trust.py (the in-process paths)."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from conftest import DEMO_CONFIG, REPO_ROOT, Payload, hostile_checkpoint as hostile, tiny_cfg_options, tool_env
from rsseg_ext.engine.trust import CONFIG_DIR_ENV

pytestmark = pytest.mark.timeout(900)
CONVERTERS = ['clip2openclip', 'convnext2mmpretrain', 'd2ls2mmseg', 'dino2mmpretrain', 'fctl2mmseg',
              'logcanplus2mmseg', 'rsktseg2mmseg', 'vgg2mmpretrain']


def _forge(folder, name, tmp_path):
    """A sidecar that signs ``name`` with another user's key (the strongest forgery an outsider can make)."""
    env = dict(tool_env(), **{CONFIG_DIR_ENV: str(tmp_path / 'attacker_config')})
    code = ('from rsseg_ext.engine.trust import record_checkpoint; import sys; '
            'record_checkpoint(sys.argv[1], run="attacker")')
    subprocess.run([sys.executable, '-c', code, osp.join(folder, name)], env=env, cwd=REPO_ROOT, check=True,
                   capture_output=True)
    assert name in json.load(open(osp.join(folder, '.rsseg_ext_checkpoints.json')))


def _run(cmd, timeout=600):
    res = subprocess.run(cmd, cwd=REPO_ROOT, env=tool_env(), capture_output=True, text=True, timeout=timeout)
    return res, res.stdout + res.stderr


@pytest.fixture(scope='module')
def scene(tmp_path_factory):
    from rsseg_ext.utils.synthetic import make_synthetic_geotiff
    path = str(tmp_path_factory.mktemp('scene') / 'scene.tif')
    make_synthetic_geotiff(path, height=64, width=64)
    return path


def test_tools_refuse_payload_with_forged_sidecar(tmp_path, synthetic_data_root, scene):
    marker = tmp_path / 'MARKER'
    work_dir = tmp_path / 'shipped_work_dir'
    work_dir.mkdir()
    ckpt = hostile(work_dir / 'iter_2.pth', marker)
    _forge(str(work_dir), 'iter_2.pth', tmp_path)
    (work_dir / 'last_checkpoint').write_text(ckpt)  # what mmengine's auto-resume follows
    opts = tiny_cfg_options(synthetic_data_root)
    cases = {
        'test.py': [sys.executable, 'tools/test.py', DEMO_CONFIG, ckpt, '--work-dir', str(tmp_path / 't'),
                    '--cfg-options', *opts],
        'train.py --resume': [sys.executable, 'tools/train.py', DEMO_CONFIG, '--work-dir', str(work_dir),
                              '--resume', '--cfg-options', *opts],
        'train.py load_from': [sys.executable, 'tools/train.py', DEMO_CONFIG, '--work-dir', str(tmp_path / 'w'),
                               '--cfg-options', *opts, f'load_from={ckpt}'],
        'infer_scene.py': [sys.executable, 'tools/infer_scene.py', DEMO_CONFIG, ckpt, scene,
                           str(tmp_path / 'pred.tif'), '--bands', '1,2,3', '--no-progress'],
        'publish_model.py': [sys.executable, 'tools/publish_model.py', ckpt, str(tmp_path / 'pub.pth')],
    }
    for what, cmd in cases.items():
        res, out = _run(cmd)
        assert res.returncode != 0, f'{what}: {out[-2000:]}'
        assert 'Refusing to unpickle checkpoint' in out and 'python -m rsseg_ext.trust' in out, \
            f'{what}: {out[-2000:]}'
        assert 'Traceback' not in out, f'{what}: {out[-2000:]}'
        assert not marker.exists(), f'payload ran through {what}'
    assert not osp.exists(tmp_path / 'pred.tif') and not list(tmp_path.glob('pub*.pth'))


def test_publish_model_never_executes_config_text(tmp_path):
    marker = tmp_path / 'MARKER'
    ckpt = str(tmp_path / 'weights_only.pth')
    text = f"import os\nopen({str(marker)!r}, 'w').write('pwned')\nmodel = dict(type='EncoderDecoder')\n"
    torch.save(dict(state_dict=dict(w=torch.ones(2)), meta=dict(cfg=text)), ckpt)  # loads with weights_only
    res, out = _run([sys.executable, 'tools/publish_model.py', ckpt, str(tmp_path / 'pub.pth')])
    assert res.returncode != 0 and 'not plain config data' in out and '--config' in out, out[-2000:]
    assert not marker.exists()


@pytest.mark.parametrize('name', CONVERTERS)
def test_model_converters_refuse_payload(name, tmp_path, capsys):
    marker = tmp_path / 'MARKER'
    src = hostile(tmp_path / 'release.pth', marker)
    _forge(str(tmp_path), 'release.pth', tmp_path)  # converters trust only --trust-checkpoint anyway
    spec = importlib.util.spec_from_file_location(f'conv_{name}',
                                                  osp.join(REPO_ROOT, 'tools', 'model_converters', f'{name}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    dst = str(tmp_path / 'out.pth')
    try:
        rc = mod.main([src, dst])
    except SystemExit as e:
        rc = e.code
    assert rc not in (0, None)
    assert not marker.exists() and not osp.exists(dst)
    assert 'release.pth' in capsys.readouterr().err


def test_payload_object_really_runs_when_unpickled(tmp_path):
    """The payload is live: loading it without the policy writes the marker (so the tests above can fail)."""
    marker = tmp_path / 'MARKER'
    torch.load(hostile(tmp_path / 'p.pth', marker), weights_only=False)
    assert marker.read_text() == 'pwned' and isinstance(Payload(marker).marker, str)
    os.remove(marker)

"""`import rsseg_ext` registers one module of every registry kind; configs build through custom_imports."""
import subprocess
import sys

import pytest

from conftest import DEMO_CONFIG, REPO_ROOT


@pytest.mark.parametrize('registry,name', [
    ('MODELS', 'SoftmaxFocalLoss'),
    ('DATASETS', 'SyntheticLandCoverDataset'),
    ('TRANSFORMS', 'RandomRotate90'),
    ('TRANSFORMS', 'LoadRasterImageFromFile'),
    ('METRICS', 'RSSegMetric'),
    ('HOOKS', 'CheckpointManifestHook'),
    ('OPTIMIZERS', 'LookaheadAdamW'),
])
def test_import_registers(registry, name):
    import mmseg.registry as reg

    import rsseg_ext  # noqa: F401
    assert getattr(reg, registry).get(name) is not None, f'{name} not in mmseg::{registry}'


def test_config_builds_through_custom_imports():
    # a fresh interpreter that never imports rsseg_ext itself: the config's custom_imports must do it
    code = (
        'from mmengine.config import Config\n'
        'from mmseg.registry import MODELS, DATASETS\n'
        'from mmseg.utils import register_all_modules\n'
        'register_all_modules()\n'
        f'cfg = Config.fromfile({DEMO_CONFIG!r})\n'
        "assert cfg.custom_imports['imports'] == ['rsseg_ext']\n"
        'model = MODELS.build(cfg.model)\n'
        "assert type(model).__name__ == 'EncoderDecoder'\n"
        "assert DATASETS.get('SyntheticLandCoverDataset') is not None\n"
        "print('built', sum(p.numel() for p in model.parameters()))\n")
    res = subprocess.run([sys.executable, '-c', code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.startswith('built ')
    assert 'rsseg_ext' not in code.split('Config.fromfile')[0]

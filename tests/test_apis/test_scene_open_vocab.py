"""Open-vocabulary models through the scene engine: ``tools/infer_scene.py --vocabulary`` on a tiny random RSKT-Seg,
and ``apply_vocabulary`` for RSKT-Seg, LoVLANet-style receivers and fixed-class models."""
import importlib.util
import os.path as osp
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn

rasterio = pytest.importorskip('rasterio')

from mmengine.registry import init_default_scope  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402

import rsseg_ext  # noqa: E402,F401
from conftest import REPO_ROOT, one_torch_thread  # noqa: E402
from mmseg.registry import MODELS  # noqa: E402
from rsseg_ext.apis import OUTPUT_NODATA, SceneInferencer  # noqa: E402
from rsseg_ext.models.text import apply_vocabulary  # noqa: E402

sys.path.insert(0, osp.join(REPO_ROOT, 'tests', 'test_models', 'test_rskt'))
from rskt_tiny import tiny_model_cfg  # noqa: E402

pytestmark = pytest.mark.timeout(600)
NAMES = ('building', 'road', 'water')


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmseg')
    with one_torch_thread():
        yield


def _cli():
    spec = importlib.util.spec_from_file_location('infer_scene_ov', osp.join(REPO_ROOT, 'tools', 'infer_scene.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    return cli


def test_infer_scene_with_a_vocabulary(tmp_path, capsys):
    torch.manual_seed(0)
    cfg_dict = tiny_model_cfg(size=64, num_classes=5)
    model = MODELS.build(cfg_dict).eval()
    rng = np.random.default_rng(0)
    rgb = rng.integers(1, 256, (3, 12, 15), dtype=np.uint8).repeat(8, 1).repeat(8, 2)[:, :90, :110]
    rgb = np.ascontiguousarray(rgb)
    rgb[:, -10:, -12:] = 0  # nodata corner
    src = str(tmp_path / 'scene.tif')
    with rasterio.open(src, 'w', driver='GTiff', width=110, height=90, count=3, dtype='uint8', crs='EPSG:32631',
                       transform=from_origin(0.0, 0.0, 1.0, 1.0), nodata=0) as dst:
        dst.write(rgb)
    ckpt = str(tmp_path / 'rskt_tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    cfg = str(tmp_path / 'rskt_tiny.py')
    with open(cfg, 'w') as f:
        f.write(f'model = {cfg_dict!r}\n')
    out = str(tmp_path / 'pred.tif')
    cli = _cli()
    # three names, not the config's num_classes=5: the output has three classes and a three-colour table
    cli.main([cfg, ckpt, src, out, '--window', '64', '--overlap', '16', '--blend', 'mean', '--device', 'cpu',
              '--no-progress', '--vocabulary', ','.join(NAMES)])
    assert 'vocabulary (3 names): building, road, water' in capsys.readouterr().out
    model.set_vocabulary(NAMES)
    with torch.no_grad():
        logits = SceneInferencer(model, window=64, overlap=16, blend='mean', progress=False).infer_array(rgb)
    assert logits.shape[0] == 3
    ref = logits.argmax(0).numpy()
    with rasterio.open(out) as dst:
        labels = dst.read(1)
        cmap = dst.colormap(1)
    valid = (rgb != 0).any(0)
    assert (labels[~valid] == OUTPUT_NODATA).all()
    assert (labels[valid] == ref[valid]).all() and labels[valid].max() <= 2
    assert [tuple(cmap[i][:3]) for i in range(3)] == [tuple(p) for p in model.dataset_meta['palette']]

    # the names are part of the run settings: a resume with other names is refused
    settings = SceneInferencer(model, window=64, progress=False).run_settings(src, (1, 2, 3), False, 'uint8', 90, 110)
    assert settings['model']['classes'] == list(NAMES)
    # the same names from a file
    vocab = tmp_path / 'names.txt'
    vocab.write_text('# names\nbuilding\nroad\nwater\n')
    out2 = str(tmp_path / 'pred2.tif')
    cli.main([cfg, ckpt, src, out2, '--window', '64', '--overlap', '16', '--blend', 'mean', '--device', 'cpu',
              '--no-progress', '--vocabulary', str(vocab)])
    with rasterio.open(out2) as dst:
        assert (dst.read(1) == labels).all()
    with pytest.raises(SystemExit, match='names.txt|not found'):
        cli.main([cfg, ckpt, src, str(tmp_path / 'p3.tif'), '--device', 'cpu', '--no-progress', '--vocabulary',
                  str(tmp_path / 'missing_names.txt')])


class _Head(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.k, self.class_names = k, None

    def set_class_names(self, names):
        if len(names) != self.k:
            raise ValueError(f'num_classes={self.k} but {len(names)} class names')
        self.class_names = tuple(names)


def test_apply_vocabulary_receivers(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 3, 1), _Head(3))
    model.dataset_meta = dict(classes=('a', 'b', 'c'), palette=[[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert apply_vocabulary(model, ['roof', 'street', 'lake']) == ('roof', 'street', 'lake')
    assert model[1].class_names == ('roof', 'street', 'lake')
    assert model.dataset_meta == dict(classes=('roof', 'street', 'lake'), palette=[[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    with pytest.raises(ValueError, match='3 but 2'):  # LoVLANet's text classifier keeps its number of classes
        apply_vocabulary(model, ['roof', 'street'])
    with pytest.raises(ValueError, match='fixed class list'):
        apply_vocabulary(nn.Conv2d(3, 3, 1), ['roof', 'street'], what='--vocabulary')
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        apply_vocabulary(model, str(tmp_path / 'nope.txt'))

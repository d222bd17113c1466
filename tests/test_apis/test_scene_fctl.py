"""FCtL through the scene engine: every window is one FCtL image (patch grid + contexts inside the window).

Checked against FCtL's own whole-image inference (one window = the whole scene) and against a hand-made blend of
per-window ``uhr_inference`` calls; the window default comes from ``test_cfg.scene_window``; the CLI runs an FCtL
config end to end on a GeoTIFF.
"""
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn as nn

rasterio = pytest.importorskip('rasterio')

from mmengine.registry import init_default_scope  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402

import rsseg_ext  # noqa: E402,F401
from mmseg.registry import MODELS  # noqa: E402
from mmseg.structures import SegDataSample  # noqa: E402
from rsseg_ext.apis import OUTPUT_NODATA, SceneInferencer, slide_grid  # noqa: E402
from conftest import one_torch_thread

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
PATCH = 64
ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@MODELS.register_module(force=True)
class SceneFCtLTinyNet(nn.Module):
    """Five stride-2 conv stages (VGG's five pools): 64 -> 32, 16, 8, 4, 2; outputs of stages 2, 3, 4."""

    def __init__(self, widths=(4, 8, 8, 16, 16)):
        super().__init__()
        chans = (3,) + tuple(widths)
        self.stages = nn.ModuleList(
            nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], 3, 2, 1), nn.ReLU()) for i in range(len(widths)))

    def forward(self, x):
        outs = []
        for i, s in enumerate(self.stages):
            x = s(x)
            if i >= 2:
                outs.append(x)
        return tuple(outs)


def fctl_cfg(scene_window=None, num_classes=3) -> dict:
    test_cfg = dict(mode='uhr', patch_size=PATCH, min_overlap=16, sub_batch_size=8)
    if scene_window:
        test_cfg['scene_window'] = scene_window
    return dict(
        type='MultiContextEncoderDecoder',
        data_preprocessor=dict(type='MultiContextSegDataPreProcessor', mean=MEAN, std=STD, bgr_to_rgb=True),
        backbone=dict(type='SceneFCtLTinyNet'), contexts=(1.0, 3.0, 'global'), patch_size=PATCH,
        fusion=dict(type='LCFALEFusion', in_channels=16, lcc=dict(key_channels=8, zero_init_gamma=False),
                    ale=dict(lfi=dict(kernel_sizes=(3, 5)))),
        decode_head=dict(type='FCN8sHead', in_channels=(8, 16, 16), channels=16, num_classes=num_classes,
                         dropout_ratio=0.0, loss_decode=dict(type='SoftmaxFocalLoss', gamma=3.0)),
        test_cfg=test_cfg)


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmseg')
    with one_torch_thread():
        yield


def build(**kw):
    torch.manual_seed(0)
    model = MODELS.build(fctl_cfg(**kw)).eval()
    model.dataset_meta = dict(classes=('a', 'b', 'c'), palette=[[255, 0, 0], [0, 255, 0], [0, 0, 255]])
    return model


def make_rgb(h, w, seed=0) -> np.ndarray:
    """``(3, h, w)`` uint8 RGB in 1..255 with blocky structure (so the contexts carry information)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(1, 256, (3, h // 8 + 1, w // 8 + 1), dtype=np.uint8).repeat(8, 1).repeat(8, 2)
    return np.ascontiguousarray(img[:, :h, :w])


def normalise(model, rgb: np.ndarray) -> torch.Tensor:
    """What mmseg's pipeline gives FCtL: the image loaded as BGR, converted and normalised by the preprocessor."""
    bgr = torch.from_numpy(np.ascontiguousarray(rgb[::-1]))
    return model.data_preprocessor(dict(inputs=[bgr], data_samples=[SegDataSample()]), False)['inputs']


def test_one_window_is_fctl_whole_image_inference():
    model = build()
    rgb = make_rgb(150, 170)
    inf = SceneInferencer(model, window=200, overlap=32, blend='mean', progress=False)
    calls = []
    model.context_backbones[1].register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    with torch.no_grad():
        ours = inf.infer_array(rgb)
        assert calls == [1]  # the global context ran once: the window went through FCtL's image path
        ref = model.uhr_inference(normalise(model, rgb))[0]
    assert len(model.patch_grid(150, 170)) > 1  # a real patch grid inside the window
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)


def test_windows_are_fctl_images_blended():
    """Several windows: each is segmented as its own FCtL image (global context = that window), then blended."""
    model = build()
    rgb = make_rgb(230, 300, seed=1)
    window, overlap = 160, 48
    with torch.no_grad():
        ours = SceneInferencer(model, window=window, overlap=overlap, blend='mean', progress=False).infer_array(rgb)
        x = normalise(model, rgb)[0]
        acc = torch.zeros_like(ours)
        cnt = torch.zeros(ours.shape[1:])
        for y1, x1, y2, x2 in slide_grid(230, 300, window, window - overlap):
            acc[:, y1:y2, x1:x2] += model.uhr_inference(x[None, :, y1:y2, x1:x2])[0]
            cnt[y1:y2, x1:x2] += 1
        ref = acc / cnt
        # the stacked-patch path (encode_decode) takes patch + context channels, not a 3-band window
        with pytest.raises(ValueError, match='input channels'):
            model.encode_decode(x[None, :, :PATCH, :PATCH], [dict(img_shape=(PATCH, PATCH))])
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)


def test_window_default_from_test_cfg():
    model = build(scene_window=192)
    inf = SceneInferencer(model, progress=False)
    assert (inf.window, inf.overlap) == (192, 96)  # overlap: min(128, window // 2)
    assert SceneInferencer(model, window=256, overlap=16, progress=False).window == 256  # the caller wins
    model.test_cfg.pop('scene_window')
    assert SceneInferencer(model, progress=False).window == 1024


def test_cli_segments_a_geotiff_with_fctl(tmp_path, capsys):
    model = build()
    rgb = make_rgb(210, 260, seed=2)
    rgb[:, :20, :30] = 0  # nodata block
    src = str(tmp_path / 'scene.tif')
    transform = from_origin(300000.0, 4000000.0, 0.3, 0.3)
    with rasterio.open(src, 'w', driver='GTiff', width=260, height=210, count=3, dtype='uint8', crs='EPSG:32650',
                       transform=transform, nodata=0) as dst:
        dst.write(rgb)
    ckpt = str(tmp_path / 'fctl.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=model.dataset_meta)), ckpt)
    cfg = str(tmp_path / 'fctl_tiny.py')
    with open(cfg, 'w') as f:
        f.write(f'model = {fctl_cfg(scene_window=2448)!r}\n')
    spec = importlib.util.spec_from_file_location('infer_scene_fctl', osp.join(ROOT, 'tools', 'infer_scene.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = str(tmp_path / 'pred.tif')
    # the window comes from the config's test_cfg.scene_window, here overridden on the command line
    cli.main([cfg, ckpt, src, out, '--blend', 'mean', '--device', 'cpu', '--no-progress',
              '--cfg-options', 'model.test_cfg.scene_window=160'])
    printed = capsys.readouterr().out
    assert out in printed and '(6 windows' in printed  # 210x260 in 160-px windows, stride 80: 2 x 3
    with torch.no_grad():
        ref = SceneInferencer(model, window=160, overlap=80, blend='mean', progress=False).infer_array(rgb)
    ref = ref.argmax(0).numpy()
    with rasterio.open(out) as dst:
        labels = dst.read(1)
        assert dst.crs.to_epsg() == 32650 and dst.transform == transform
    assert (labels[:20, :30] == OUTPUT_NODATA).all()
    valid = (rgb != 0).any(0)
    assert (labels[valid] == ref[valid]).all()

"""Scene inference engine: equality with mmseg's slide_inference, GeoTIFF output, bounded memory, errors."""
import os
import os.path as osp

import numpy as np
import pytest
import torch

rasterio = pytest.importorskip('rasterio')
pytest.importorskip('mmseg.models')

from mmengine.config import ConfigDict  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402

# the engine's public names, as callers import them
from rsseg_ext.apis import (OUTPUT_NODATA, SceneInferencer, blend_slide, probs_path_for, slide_grid,  # noqa: E402
                            window_weights, write_overlay_png)

NUM_CLASSES = 4
PALETTE = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]]
WINDOW, OVERLAP = 128, 32
STRIDE = WINDOW - OVERLAP


def build_tiny_model(seed: int = 0):
    """ResNetV1c-18 (8 base channels) + FCNHead (8 channels), 4 classes, BGR->RGB preprocessor, eval mode."""
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(seed)
    cfg = ConfigDict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8, num_stages=4,
                      out_indices=(3, ), dilations=(1, 1, 1, 1), strides=(1, 2, 2, 2),
                      norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False, style='pytorch',
                      contract_dilation=True),
        decode_head=dict(type='FCNHead', in_channels=64, in_index=0, channels=8, num_convs=1, concat_input=False,
                         dropout_ratio=0.0, num_classes=NUM_CLASSES, norm_cfg=dict(type='BN', requires_grad=True),
                         align_corners=False,
                         loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        train_cfg=dict(),
        test_cfg=dict(mode='slide', crop_size=(WINDOW, WINDOW), stride=(STRIDE, STRIDE)))
    model = MODELS.build(cfg)  # PyTorch's default init under the fixed seed (init_weights only adds log noise)
    # non-trivial BN statistics, so eval-mode BN is not an identity
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    model.dataset_meta = dict(classes=('a', 'b', 'c', 'd'), palette=PALETTE)
    return model.eval()


@pytest.fixture(scope='module')
def model():
    return build_tiny_model()


def make_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """(3, h, w) uint8 in 1..255 (0 is reserved for nodata), smooth structure plus noise."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([np.sin(yy / 17.0), np.cos(xx / 23.0), np.sin((yy + xx) / 31.0)])
    img = 128 + 90 * base + rng.randint(-30, 30, (3, h, w))
    return np.clip(img, 1, 255).astype(np.uint8)


TRANSFORM = from_origin(500000.0, 5400000.0, 0.5, 0.5)


def write_geotiff(path: str, img: np.ndarray, nodata=0):
    with rasterio.open(path, 'w', driver='GTiff', width=img.shape[2], height=img.shape[1], count=img.shape[0],
                       dtype=img.dtype, crs='EPSG:32633', transform=TRANSFORM, nodata=nodata) as dst:
        dst.write(img)


@pytest.fixture(scope='module')
def scene(tmp_path_factory):
    """300x500 3-band uint8 GeoTIFF with a block and a few scattered pixels of nodata (all bands 0)."""
    img = make_image(300, 500)
    img[:, 10:40, 20:90] = 0
    img[:, 250, 400] = 0
    img[0, 100, 100] = 0  # a single band at nodata is still valid data
    nodata = (img == 0).all(0)
    path = str(tmp_path_factory.mktemp('scene') / 'scene.tif')
    write_geotiff(path, img)
    return path, img, nodata


def mmseg_slide_logits(model, img: np.ndarray) -> torch.Tensor:
    """mmseg's own path: preprocess the whole (BGR) image, then EncoderDecoder.slide_inference."""
    bgr = torch.from_numpy(img[::-1].copy())  # mmseg pipelines load BGR; the preprocessor converts to RGB
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=[bgr]), False)
        metas = [dict(img_shape=img.shape[1:], ori_shape=img.shape[1:], pad_shape=img.shape[1:])]
        return model.slide_inference(data['inputs'], metas)[0]


def test_grid_matches_mmseg_edges():
    grid = slide_grid(300, 500, WINDOW, STRIDE)
    assert len(grid) == 3 * 5
    ys = sorted({g[0] for g in grid})
    xs = sorted({g[1] for g in grid})
    assert ys == [0, 96, 172] and xs == [0, 96, 192, 288, 372]  # last row/column shifted back
    assert all(g[2] - g[0] == WINDOW and g[3] - g[1] == WINDOW for g in grid)
    # a scene smaller than the window: one smaller window, like mmseg
    assert slide_grid(50, 70, WINDOW, STRIDE) == [(0, 0, 50, 70)]


@pytest.mark.parametrize('batch', [1, 4])
def test_mean_blend_equals_mmseg_slide_inference(model, scene, batch):
    _, img, _ = scene
    ref = mmseg_slide_logits(model, img)
    inf = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, batch=batch, blend='mean', progress=False)
    ours = inf.infer_array(img)
    assert ours.shape == ref.shape == (NUM_CLASSES, 300, 500)
    assert torch.allclose(ours, ref, atol=1e-5, rtol=0), (ours - ref).abs().max()
    assert inf.num_windows == 15


def test_blend_slide_equals_mmseg(model, scene):
    _, img, _ = scene
    ref = mmseg_slide_logits(model, img)
    bgr = torch.from_numpy(img[::-1].copy())
    with torch.no_grad():
        x = model.data_preprocessor(dict(inputs=[bgr]), False)['inputs']
        ours = blend_slide(model.encode_decode, x, (WINDOW, WINDOW), (STRIDE, STRIDE), batch=3)[0]
    assert torch.allclose(ours, ref, atol=1e-5, rtol=0)


def test_gaussian_blend_and_flip_tta(model, scene):
    _, img, _ = scene
    small = img[:, :100, :120]
    # a single window: every blending gives that window's logits
    mean = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, blend='mean', progress=False).infer_array(small)
    gauss = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, progress=False).infer_array(small)
    assert torch.allclose(mean, gauss, atol=1e-5)
    full_g = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, blend='gaussian', batch=3,
                             progress=False).infer_array(img)
    # reference: the Gaussian-weighted average written out over the whole scene
    bgr = torch.from_numpy(img[::-1].copy())
    num = torch.zeros(NUM_CLASSES, 300, 500, dtype=torch.float64)
    den = torch.zeros(300, 500, dtype=torch.float64)
    wgt = window_weights(WINDOW, WINDOW, 'gaussian', dtype=torch.float64)
    with torch.no_grad():
        x = model.data_preprocessor(dict(inputs=[bgr]), False)['inputs']
        for (y1, x1, y2, x2) in slide_grid(300, 500, WINDOW, STRIDE):
            crop = x[:, :, y1:y2, x1:x2]
            lg = model.encode_decode(crop, [dict(img_shape=crop.shape[2:])])[0].double()
            num[:, y1:y2, x1:x2] += lg * wgt
            den[y1:y2, x1:x2] += wgt
    ref = (num / den).float()
    assert torch.allclose(full_g, ref, atol=1e-4, rtol=0), (full_g - ref).abs().max()
    # weights are smooth: the weight map has no step at window borders inside the scene
    assert wgt.min() > 0 and wgt[0, WINDOW // 2] / wgt.max() < 1e-3
    flip = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, blend='mean', tta='flip',
                           progress=False).infer_array(small)
    flipped = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, blend='mean',
                              progress=False).infer_array(small[:, :, ::-1].copy()).flip(-1)
    assert torch.allclose(flip, (mean + flipped) / 2, atol=1e-5)


def test_geotiff_output(model, scene, tmp_path):
    path, img, nodata = scene
    out = str(tmp_path / 'pred.tif')
    inf = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, batch=2, blend='mean', progress=False)
    res = inf.infer_file(path, out, probs=True)
    assert res['out'] == out and res['probs'] == probs_path_for(out) == str(tmp_path / 'pred_probs.tif')
    with rasterio.open(path) as src, rasterio.open(out) as dst:
        assert dst.crs == src.crs and dst.crs.to_epsg() == 32633
        assert dst.transform == src.transform
        assert (dst.height, dst.width, dst.count, dst.dtypes[0]) == (300, 500, 1, 'uint8')
        assert dst.nodata == OUTPUT_NODATA
        assert dst.profile['tiled'] and dst.profile['blockxsize'] == 256
        assert dst.profile['compress'].lower() == 'deflate'
        cmap = dst.colormap(1)
        assert [cmap[i][:3] for i in range(NUM_CLASSES)] == [tuple(p) for p in PALETTE]
        labels = dst.read(1)
    assert (labels[nodata] == OUTPUT_NODATA).all() and nodata.sum() == 30 * 70 + 1
    assert labels[100, 100] != OUTPUT_NODATA
    assert (labels[~nodata] < NUM_CLASSES).all()
    # the file path and the in-memory path agree
    logits = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, blend='mean', progress=False).infer_array(img)
    expected = logits.argmax(0).numpy().astype(np.uint8)
    assert (labels[~nodata] == expected[~nodata]).all()
    with rasterio.open(res['probs']) as pr:
        assert pr.count == NUM_CLASSES and pr.dtypes[0] == 'uint8' and pr.crs == dst.crs
        p = pr.read().astype(np.int64)
    ref = np.rint(logits.softmax(0).numpy() * 255).astype(np.int64)
    assert np.abs(p - ref).max() <= 1
    # no temp files left behind
    assert sorted(os.listdir(tmp_path)) == ['pred.tif', 'pred_probs.tif']


def test_uint16_with_scale_matches_uint8(model, scene, tmp_path):
    _, img, _ = scene
    img16 = img[:, :150, :200].astype(np.uint16) * 40
    path = str(tmp_path / 'u16.tif')
    write_geotiff(path, img16)
    inf = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, blend='mean', scale=1 / 40, progress=False)
    inf.infer_file(path, str(tmp_path / 'u16_pred.tif'))
    ref = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, blend='mean',
                          progress=False).infer_array(img[:, :150, :200])
    with rasterio.open(str(tmp_path / 'u16_pred.tif')) as dst:
        labels = dst.read(1)
    valid = labels != OUTPUT_NODATA
    assert (labels[valid] == ref.argmax(0).numpy()[valid]).mean() > 0.999


def test_memory_bounded_by_strip(model, tmp_path):
    h, w = 700, 1100
    img = make_image(h, w, seed=1)
    path = str(tmp_path / 'big.tif')
    write_geotiff(path, img)
    inf = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, batch=4, progress=False)
    res = inf.infer_file(path, str(tmp_path / 'big_pred.tif'))
    c, rows, width = inf.buffer_shape
    assert (c, width) == (NUM_CLASSES, w)
    assert rows <= WINDOW + STRIDE and rows == WINDOW
    full_logits_bytes = NUM_CLASSES * h * w * 4
    assert res['peak_buffer_bytes'] == inf.peak_buffer_bytes == (NUM_CLASSES + 1) * rows * w * 4
    assert inf.peak_buffer_bytes < full_logits_bytes / 4
    assert inf.max_release_rows <= WINDOW  # blended rows leave the engine a strip at a time
    assert inf.num_windows == len(slide_grid(h, w, WINDOW, STRIDE)) == 7 * 12
    with rasterio.open(str(tmp_path / 'big_pred.tif')) as dst:
        labels = dst.read(1)
    assert labels.shape == (h, w) and (labels < NUM_CLASSES).all()


def test_refuses_to_overwrite(model, scene, tmp_path):
    path, _, _ = scene
    out = str(tmp_path / 'pred.tif')
    inf = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, progress=False)
    inf.infer_file(path, out)
    mtime = os.stat(out).st_mtime_ns
    with pytest.raises(FileExistsError, match='force'):
        inf.infer_file(path, out)
    assert os.stat(out).st_mtime_ns == mtime
    # the probability file is protected too
    open(probs_path_for(out), 'w').close()
    with pytest.raises(FileExistsError, match='_probs'):
        inf.infer_file(path, out, probs=True, force=False)
    inf.infer_file(path, out, probs=True, force=True)
    with rasterio.open(probs_path_for(out)) as pr:
        assert pr.count == NUM_CLASSES


def test_clear_errors(model, scene, tmp_path):
    path, _, _ = scene
    bad = tmp_path / 'notes.tif'
    bad.write_text('this is not a raster')
    inf = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, progress=False)
    with pytest.raises(ValueError, match='notes.tif.*not a raster'):
        inf.infer_file(str(bad), str(tmp_path / 'o.tif'))
    with pytest.raises(FileNotFoundError, match='missing.tif'):
        inf.infer_file(str(tmp_path / 'missing.tif'), str(tmp_path / 'o.tif'))
    inf_b = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, bands=(1, 2, 5), progress=False)
    with pytest.raises(ValueError, match=r'\[5\].*has 3 band'):
        inf_b.infer_file(path, str(tmp_path / 'o.tif'))
    inf_c = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, bands=(1, 2), progress=False)
    with pytest.raises(ValueError, match='expects 3 input channel.*2 band.*--bands'):
        inf_c.infer_file(path, str(tmp_path / 'o.tif'))
    with pytest.raises(ValueError, match='at least 32'):
        SceneInferencer(model, window=16, overlap=0)
    with pytest.raises(ValueError, match='overlap'):
        SceneInferencer(model, window=64, overlap=64)
    assert not any(n.endswith('.tmp.tif') or n == 'o.tif' for n in os.listdir(tmp_path))
    # a window larger than the scene is fine: it shrinks to the scene, like mmseg
    small = SceneInferencer(model, window=1024, overlap=128, progress=False)
    small.infer_file(path, str(tmp_path / 'o.tif'))
    assert small.num_windows == 1 and small.buffer_shape == (NUM_CLASSES, 300, 500)


def test_write_overlay_png(model, scene, tmp_path):
    import cv2
    path, _, nodata = scene
    out = str(tmp_path / 'pred.tif')
    SceneInferencer(model, window=WINDOW, overlap=OVERLAP, progress=False).infer_file(path, out)
    png = str(tmp_path / 'overlay.png')
    assert write_overlay_png(out, path, png, max_size=200) == (120, 200)
    arr = cv2.imread(png)
    assert arr.shape == (120, 200, 3)
    assert write_overlay_png(out, path, png, max_size=2048) == (300, 500)  # never upsampled
    arr = cv2.imread(png)[..., ::-1]
    with rasterio.open(path) as src:
        rgb = np.transpose(src.read(), (1, 2, 0))
    # nodata pixels show the bare image
    assert (arr[nodata] == rgb[nodata]).all()


def test_cli(model, scene, tmp_path, monkeypatch, capsys):
    pytest.importorskip('rsseg_ext.engine')
    import importlib.util
    path, _, _ = scene
    ckpt = str(tmp_path / 'tiny.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=model.dataset_meta)), ckpt)
    cfg_path = str(tmp_path / 'tiny_cfg.py')
    with open(cfg_path, 'w') as f:
        f.write(
            "model = dict(type='EncoderDecoder',\n"
            "    data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],\n"
            "        std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255),\n"
            "    backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8, out_indices=(3,),\n"
            "        dilations=(1, 1, 1, 1), strides=(1, 2, 2, 2), norm_cfg=dict(type='BN'),\n"
            "        contract_dilation=True),\n"
            "    decode_head=dict(type='FCNHead', in_channels=64, in_index=0, channels=8, num_convs=1,\n"
            "        concat_input=False, dropout_ratio=0.0, num_classes=4, norm_cfg=dict(type='BN'),\n"
            "        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),\n"
            "    train_cfg=dict(), test_cfg=dict(mode='whole'))\n")
    spec = importlib.util.spec_from_file_location(
        'infer_scene', osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools',
                                'infer_scene.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = str(tmp_path / 'cli_pred.tif')
    png = str(tmp_path / 'cli.png')
    cli.main([cfg_path, ckpt, path, out, '--window', '128', '--overlap', '32', '--blend', 'mean', '--device',
              'cpu', '--overlay', png, '--no-progress'])
    printed = capsys.readouterr().out
    assert out in printed and png in printed
    ref = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, blend='mean', progress=False).infer_array(
        scene[1]).argmax(0).numpy()
    with rasterio.open(out) as dst:
        labels = dst.read(1)
    valid = labels != OUTPUT_NODATA
    assert (labels[valid] == ref[valid]).all()
    with pytest.raises(SystemExit, match='force'):
        cli.main([cfg_path, ckpt, path, out, '--device', 'cpu', '--no-progress'])
    with pytest.raises(SystemExit, match='force'):  # a finished output is never clobbered, resume or not
        cli.main([cfg_path, ckpt, path, out, '--resume', '--device', 'cpu', '--no-progress'])


def test_preprocessor_that_pads_at_test_time(tmp_path):
    """A config with data_preprocessor.test_cfg (size_divisor), as D2LS's: windows are padded, then cropped back."""
    from rsseg_ext.apis import SceneInferencer
    model = build_tiny_model()
    model.data_preprocessor.test_cfg = dict(size_divisor=32)
    img = make_image(70, 90, seed=3)
    inf = SceneInferencer(model, window=48, overlap=8, batch=2, blend='mean', progress=False)
    logits = inf.infer_array(img)
    assert logits.shape == (NUM_CLASSES, 70, 90) and torch.isfinite(logits).all()
    # same numbers as feeding each window by hand through the padding preprocessor
    y1, x1, y2, x2 = (0, 0, 48, 48)
    one = inf.forward_windows([torch.from_numpy(img[:, y1:y2, x1:x2].copy())])
    assert one.shape == (1, NUM_CLASSES, 48, 48)
    path = str(tmp_path / 'in.tif')
    write_geotiff(path, img)
    inf.infer_file(path, str(tmp_path / 'out.tif'))
    assert osp.isfile(tmp_path / 'out.tif')

"""LoadRasterImageFromFile on tiny GeoTIFFs written with rasterio, and RandomRotate90 geometry."""
import copy
import warnings

import numpy as np
import pytest

import rsseg_ext  # noqa: F401
from mmseg.registry import TRANSFORMS

rasterio = pytest.importorskip('rasterio')
from affine import Affine  # noqa: E402
from rasterio.crs import CRS  # noqa: E402
from rasterio.errors import NotGeoreferencedWarning  # noqa: E402

GEO_TRANSFORM = Affine(0.5, 0.0, 500000.0, 0.0, -0.5, 4100000.0)  # UTM origin, 0.5 m pixels


def _write_tif(path, data, crs='EPSG:32633', transform=GEO_TRANSFORM, nodata=None):
    """Write (C, H, W) ``data`` as a GeoTIFF."""
    c, h, w = data.shape
    profile = dict(driver='GTiff', height=h, width=w, count=c, dtype=data.dtype.name)
    if crs is not None:
        profile.update(crs=CRS.from_string(crs), transform=transform)
    if nodata is not None:
        profile['nodata'] = nodata
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', NotGeoreferencedWarning)  # the plain-PNG case is deliberate
        with rasterio.open(path, 'w', **profile) as dst:
            dst.write(data)
    return str(path)


def _bands(c, h=5, w=7, dtype=np.uint8):
    # band b holds 10*b + a pixel ramp, so every band and pixel is identifiable
    ramp = np.arange(h * w).reshape(h, w)
    return np.stack([10 * (b + 1) + ramp for b in range(c)]).astype(dtype)


def test_load_rgb_geotiff_default_bgr_like_cv2(tmp_path):
    data = _bands(3)
    path = _write_tif(tmp_path / 'scene.tif', data)
    load = TRANSFORMS.build(dict(type='LoadRasterImageFromFile'))
    res = load(dict(img_path=path))
    img = res['img']
    assert img.shape == (5, 7, 3) and img.dtype == np.uint8 and img.flags.c_contiguous
    # file order R, G, B -> B, G, R, as mmseg's cv2-based LoadImageFromFile returns
    np.testing.assert_array_equal(img[..., 0], data[2])
    np.testing.assert_array_equal(img[..., 2], data[0])
    assert res['img_shape'] == res['ori_shape'] == (5, 7)
    geo = res['geo_meta']
    assert CRS.from_wkt(geo['crs']) == CRS.from_epsg(32633)
    assert geo['transform'] == (0.5, 0.0, 500000.0, 0.0, -0.5, 4100000.0)
    assert geo['nodata'] is None and geo['bands'] == [1, 2, 3] and geo['size'] == (7, 5)


def test_load_matches_mmseg_loader_on_8bit_rgb(tmp_path):
    data = _bands(3)
    path = _write_tif(tmp_path / 'scene.tif', data)
    ours = TRANSFORMS.build(dict(type='LoadRasterImageFromFile'))(dict(img_path=path))['img']
    theirs = TRANSFORMS.build(dict(type='LoadImageFromFile'))(dict(img_path=path))['img']
    np.testing.assert_array_equal(ours, theirs)


def test_band_selection_rgb_order_float_and_uint16(tmp_path):
    data = _bands(5, dtype=np.uint16) * 100  # beyond 8 bits
    path = _write_tif(tmp_path / 'ms.tif', data)
    load = TRANSFORMS.build(dict(type='LoadRasterImageFromFile', bands=[4, 2, 1, 5], channel_order='rgb',
                                 to_float32=True))
    img = load(dict(img_path=path))['img']
    assert img.dtype == np.float32 and img.shape == (5, 7, 4)
    for c, band in enumerate([4, 2, 1, 5]):
        np.testing.assert_array_equal(img[..., c], data[band - 1].astype(np.float32))
    # bgr with 5 bands: the first three are reversed, the rest keep their order
    img = TRANSFORMS.build(dict(type='LoadRasterImageFromFile'))(dict(img_path=path))['img']
    assert img.dtype == np.uint16
    np.testing.assert_array_equal(img.transpose(2, 0, 1), data[[2, 1, 0, 3, 4]])


def test_nodata_fill_and_plain_png(tmp_path):
    data = _bands(2, dtype=np.int16)
    data[:, 0, 0] = -9999
    path = _write_tif(tmp_path / 'dem.tif', data, nodata=-9999)
    res = TRANSFORMS.build(dict(type='LoadRasterImageFromFile', nodata_to=0))(dict(img_path=path))
    assert res['geo_meta']['nodata'] == -9999
    assert np.all(res['img'][0, 0] == 0) and res['img'][0, 1, 0] == data[0, 0, 1]
    with pytest.raises(ValueError, match='not representable'):
        TRANSFORMS.build(dict(type='LoadRasterImageFromFile', nodata_to=0.5))(dict(img_path=path))
    # a non-georeferenced PNG: no CRS, identity transform, no warning noise
    png = _write_tif(tmp_path / 'tile.png', _bands(3), crs=None)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        res = TRANSFORMS.build(dict(type='LoadRasterImageFromFile'))(dict(img_path=png))
    assert res['geo_meta']['crs'] is None
    assert res['geo_meta']['transform'] == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def test_clear_errors(tmp_path):
    load = TRANSFORMS.build(dict(type='LoadRasterImageFromFile', bands=[1, 4]))
    missing = str(tmp_path / 'nope.tif')
    with pytest.raises(FileNotFoundError, match='nope.tif'):
        load(dict(img_path=missing))
    text = tmp_path / 'notes.tif'
    text.write_text('this is not a raster')
    with pytest.raises(OSError, match=r'rasterio could not open .*notes\.tif'):
        load(dict(img_path=str(text)))
    path = _write_tif(tmp_path / 'rgb.tif', _bands(3))
    with pytest.raises(ValueError, match=r'has 3 band\(s\)'):
        load(dict(img_path=path))
    with pytest.raises(ValueError, match='1-based'):
        TRANSFORMS.build(dict(type='LoadRasterImageFromFile', bands=[0, 1]))


def _checkerboard_results(h=6, w=10):
    yy, xx = np.mgrid[:h, :w]
    seg = ((yy // 2 + xx // 2) % 2).astype(np.uint8) + 3 * (yy == 0)  # top row marked
    img = np.stack([seg * 10, seg * 20, yy * w + xx], axis=-1).astype(np.uint8)
    return dict(img=img, gt_seg_map=seg.copy(), aux_map=seg.copy() + 100, seg_fields=['gt_seg_map', 'aux_map'],
                img_shape=(h, w))


def test_rotate90_rotates_image_and_all_seg_fields_together():
    rot = TRANSFORMS.build(dict(type='RandomRotate90', prob=1.0, angles=[90]))
    src = _checkerboard_results()
    res = rot(copy.deepcopy(src))
    assert res['rotate90_k'] == 1
    assert res['img'].shape == (10, 6, 3) and res['img_shape'] == (10, 6)
    np.testing.assert_array_equal(res['img'], np.rot90(src['img']))
    # counter-clockwise: the top row becomes the left column, read bottom to top
    np.testing.assert_array_equal(res['gt_seg_map'][:, 0], src['gt_seg_map'][0, ::-1])
    # image and every seg field stay aligned
    np.testing.assert_array_equal(res['img'][..., 0], res['gt_seg_map'] * 10)
    np.testing.assert_array_equal(res['aux_map'], res['gt_seg_map'] + 100)
    for key in ('img', 'gt_seg_map', 'aux_map'):
        assert res[key].flags.c_contiguous


def test_rotate90_four_times_is_identity_and_prob_zero_is_noop():
    rot = TRANSFORMS.build(dict(type='RandomRotate90', prob=1.0, angles=(90,)))
    src = _checkerboard_results()
    res = copy.deepcopy(src)
    for _ in range(4):
        res = rot(res)
    for key in ('img', 'gt_seg_map', 'aux_map'):
        np.testing.assert_array_equal(res[key], src[key])
    assert res['img_shape'] == (6, 10)
    never = TRANSFORMS.build(dict(type='RandomRotate90', prob=0.0))
    res = never(copy.deepcopy(src))
    assert res['rotate90_k'] == 0
    np.testing.assert_array_equal(res['img'], src['img'])


def test_rotate90_draws_each_angle_uniformly():
    np.random.seed(0)
    rot = TRANSFORMS.build(dict(type='RandomRotate90', prob=0.5))
    counts = np.bincount([rot(_checkerboard_results())['rotate90_k'] for _ in range(2000)], minlength=4)
    # about half unrotated, the rest split evenly over k = 1, 2, 3
    assert abs(counts[0] / 2000 - 0.5) < 0.05
    assert all(abs(c / 2000 - 1 / 6) < 0.04 for c in counts[1:])
    with pytest.raises(ValueError, match='subset of'):
        TRANSFORMS.build(dict(type='RandomRotate90', angles=[45]))

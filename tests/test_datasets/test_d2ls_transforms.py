"""RSMosaic, RandomBrightnessContrast, Sharpen (D2LS released code's pipelines; docs/methods/d2ls.md)."""
import random

import numpy as np
import pytest

import rsseg_ext  # noqa: F401
from mmseg.registry import DATASETS, TRANSFORMS


def _res(value: int, h=32, w=40):
    img = np.full((h, w, 3), value, np.uint8)
    seg = np.full((h, w), value, np.uint8)
    return dict(img=img, gt_seg_map=seg, img_shape=(h, w), seg_fields=['gt_seg_map'])


def test_mosaic_quadrants_come_from_the_four_sources():
    random.seed(0)
    t = TRANSFORMS.build(dict(type='RSMosaic', prob=1.0))
    for _ in range(5):
        res = _res(1)
        res['mix_results'] = [_res(2), _res(3, 50, 60), _res(4, 20, 20)]  # the last one is too small: padded
        out = t(res)
        img, seg = out['img'], out['gt_seg_map']
        assert img.shape == (32, 40, 3) and seg.shape == (32, 40) and out['img_shape'] == (32, 40)
        assert np.array_equal(img[..., 0], seg.astype(np.uint8) * (seg != 255))  # image and mask aligned
        # the split point is in the middle half: corners identify the sources
        assert seg[0, 0] == 1 and seg[0, -1] == 2 and seg[-1, 0] == 3
        assert set(np.unique(seg)) <= {1, 2, 3, 4, 255}
        assert 4 in seg  # the 20x20 source fills at least part of its quadrant (ox, oy >= 1/4)
        rows = np.where(seg[:, 0] == 3)[0]
        assert 8 <= rows[0] <= 24  # oy in [H/4, 3H/4]


def test_mosaic_respects_img_scale_and_skips_without_mix():
    t = TRANSFORMS.build(dict(type='RSMosaic', prob=1.0, img_scale=(16, 24)))
    res = _res(1)
    res['mix_results'] = [_res(2), _res(3), _res(4)]
    assert t(res)['img'].shape == (16, 24, 3)
    plain = _res(1)
    assert t(dict(plain))['img'].shape == (32, 40, 3)  # no mix_results: unchanged


def test_mosaic_get_indices_follows_prob():
    ds = list(range(10))
    assert TRANSFORMS.build(dict(type='RSMosaic', prob=0.0)).get_indices(ds) == []
    idx = TRANSFORMS.build(dict(type='RSMosaic', prob=1.0)).get_indices(ds)
    assert len(idx) == 3 and all(0 <= i < 10 for i in idx)


def test_mosaic_in_multi_image_mix_dataset(synthetic_data_root):
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    inner = dict(type='SyntheticLandCoverDataset', data_root=synthetic_data_root,
                 data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')])
    ds = DATASETS.build(dict(type='MultiImageMixDataset', dataset=inner,
                             pipeline=[dict(type='RSMosaic', prob=1.0), dict(type='PackSegInputs')]))
    out = ds[0]
    assert tuple(out['inputs'].shape[-2:]) == tuple(out['data_samples'].gt_sem_seg.shape)


def test_brightness_contrast_formula():
    np.random.seed(0)
    img = np.random.randint(0, 256, (8, 8, 3)).astype(np.uint8)
    t = TRANSFORMS.build(dict(type='RandomBrightnessContrast', brightness_limit=0.0, contrast_limit=0.0, prob=1.0))
    assert np.array_equal(t(dict(img=img.copy()))['img'], img)
    t = TRANSFORMS.build(dict(type='RandomBrightnessContrast', brightness_limit=0.25, contrast_limit=0.25, prob=1.0))
    np.random.seed(1)
    np.random.rand()  # the prob draw
    alpha = 1 + np.random.uniform(-0.25, 0.25)
    beta = np.random.uniform(-0.25, 0.25)
    np.random.seed(1)
    out = t(dict(img=img.copy()))['img']
    ref = np.clip(np.rint(img.astype(np.float32) * alpha + beta * 255), 0, 255).astype(np.uint8)
    assert out.dtype == np.uint8 and np.abs(out.astype(int) - ref.astype(int)).max() <= 1
    t0 = TRANSFORMS.build(dict(type='RandomBrightnessContrast', prob=0.0))
    assert np.array_equal(t0(dict(img=img.copy()))['img'], img)


def test_sharpen_kernel_and_identity():
    from rsseg_ext.datasets.transforms.photometric import Sharpen
    k = Sharpen.kernel(0.3, 0.7)
    assert k[1, 1] == pytest.approx(0.7 + 0.3 * 8.7) and k[0, 0] == pytest.approx(-0.3)
    assert k.sum() == pytest.approx(1 + 0.3 * (0.7 - 1))
    img = np.random.randint(0, 256, (8, 8, 3)).astype(np.uint8)
    ident = TRANSFORMS.build(dict(type='Sharpen', alpha=(0.0, 0.0), prob=1.0))
    assert np.array_equal(ident(dict(img=img.copy()))['img'], img)
    flat = np.full((8, 8, 3), 100, np.uint8)  # kernel sum 1 + a (l - 1): gain 1 at l = 1, 0.5 at a = .5, l = 0
    t = TRANSFORMS.build(dict(type='Sharpen', alpha=(0.5, 0.5), lightness=(1.0, 1.0), prob=1.0))
    assert np.array_equal(t(dict(img=flat.copy()))['img'], flat)
    t = TRANSFORMS.build(dict(type='Sharpen', alpha=(0.5, 0.5), lightness=(0.0, 0.0), prob=1.0))
    assert np.array_equal(t(dict(img=flat.copy()))['img'], flat // 2)

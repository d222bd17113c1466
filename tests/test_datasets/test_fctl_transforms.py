"""GenerateMultiContextPatch (patch + context crops, FCtL paper Sec. 3.2) and the UHRPatchDataset wrapper."""

import cv2
import numpy as np

import rsseg_ext  # noqa: F401
from mmseg.registry import DATASETS, TRANSFORMS
from rsseg_ext.datasets.transforms.multi_context import GenerateMultiContextPatch
from rsseg_ext.utils.grid import uhr_grid

P = 508


def _ramp(h, w):
    """Coordinate-encoded image: channel 0 = x mod 256, channel 1 = y mod 256, channel 2 = 200."""
    yy, xx = np.mgrid[:h, :w]
    return np.stack([xx % 256, yy % 256, np.full_like(xx, 200)], -1).astype(np.uint8)


def _gen(**kw):
    return TRANSFORMS.build(dict(type='GenerateMultiContextPatch', patch_size=P, **kw))


def test_outputs_shapes_boxes_and_labels():
    img = _ramp(1200, 1500)
    gt = (np.arange(1200 * 1500) % 7).reshape(1200, 1500).astype(np.uint8)
    r = _gen(contexts=(1.0, 2.0, 3.0))(dict(img=img, gt_seg_map=gt, seg_fields=['gt_seg_map'],
                                             patch_box=(100, 200, 608, 708)))
    assert isinstance(_gen(), GenerateMultiContextPatch)
    assert r['img'].shape == (P, P, 9) and r['img'].dtype == np.uint8
    assert np.array_equal(r['img'][..., :3], img[100:608, 200:708])
    assert np.array_equal(r['gt_seg_map'], gt[100:608, 200:708])
    assert r['img_shape'] == (P, P) and r['full_shape'] == (1200, 1500)
    assert r['ctx_specs'] == (2.0, 3.0)
    np.testing.assert_allclose(r['ctx_boxes'], [[0.25, 0.25, 0.75, 0.75], [1 / 3, 1 / 3, 2 / 3, 2 / 3]], atol=1e-6)


def test_context_centre_equals_patch_centre():
    img = _ramp(2448, 2448)
    gen = _gen(contexts=(1.0, 2.0, 3.0))
    for win in uhr_grid(2448, 2448, P)[7:9]:  # interior patches: the context lies inside the image
        r = gen(dict(img=img, patch_box=win))
        centre = img[(win[0] + win[2]) // 2 - 1:(win[0] + win[2]) // 2 + 1,
                     (win[1] + win[3]) // 2 - 1:(win[1] + win[3]) // 2 + 1].astype(float).mean((0, 1))
        for g in (1, 2):
            ctx = r['img'][..., 3 * g:3 * g + 3].astype(float)
            got = ctx[P // 2 - 1:P // 2 + 1, P // 2 - 1:P // 2 + 1].mean((0, 1))
            # the ramp wraps mod 256: compare only channels away from a wrap
            assert abs(got[2] - centre[2]) < 1
            for c in (0, 1):
                if 10 < centre[c] < 245:
                    assert abs(got[c] - centre[c]) < 3, (win, g, c, got, centre)


def test_border_patch_context_is_zero_padded():
    img = np.full((2448, 2448, 3), 180, np.uint8)
    r = _gen(contexts=(1.0, 3.0, 'global'))(dict(img=img, patch_box=(0, 0, P, P)))
    ctx = r['img'][..., 3:6]
    third = P // 3
    assert (ctx[:third - 1, :] == 0).all() and (ctx[:, :third - 1] == 0).all()  # top-left third is black
    assert (ctx[third + 2:, third + 2:] == 180).all()
    assert (r['img'][..., 6:9] == 180).all()  # the global thumbnail of a constant image
    np.testing.assert_allclose(r['ctx_boxes'][1], [0, 0, P / 2448, P / 2448], atol=1e-6)
    # 'shift' keeps the window inside the image instead
    r2 = _gen(contexts=(1.0, 3.0), border='shift')(dict(img=img, patch_box=(0, 0, P, P)))
    assert (r2['img'][..., 3:6] == 180).all()
    np.testing.assert_allclose(r2['ctx_boxes'][0], [0, 0, 1 / 3, 1 / 3], atol=1e-6)


def test_patch_index_random_and_small_images():
    img = _ramp(600, 700)
    gen = _gen(contexts=(1.0, 3.0))
    grid = uhr_grid(600, 700, P)
    r = gen(dict(img=img, patch_index=3))
    assert r['patch_box'] == grid[3]
    np.random.seed(0)
    r = gen(dict(img=img))
    y1, x1, y2, x2 = r['patch_box']
    assert 0 <= y1 <= 600 - P and 0 <= x1 <= 700 - P and y2 - y1 == P
    small = gen(dict(img=_ramp(300, 400), gt_seg_map=np.ones((300, 400), np.uint8), seg_fields=['gt_seg_map'],
                     patch_index=0))
    assert small['img'].shape == (P, P, 6) and (small['gt_seg_map'][300:] == 255).all()


def test_uhr_patch_dataset_expands_grid(tmp_path):
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    root = tmp_path / 'dg'
    for sub in ('img_dir/train', 'ann_dir/train', 'splits'):  # the converter's mmseg layout
        (root / sub).mkdir(parents=True)
    for i in range(2):
        cv2.imwrite(str(root / 'img_dir' / 'train' / f'{i}.jpg'), _ramp(1100, 1000))
        cv2.imwrite(str(root / 'ann_dir' / 'train' / f'{i}.png'), np.full((1100, 1000), i + 1, np.uint8))
    (root / 'splits' / 'train.txt').write_text('0\n1\n')
    inner = dict(type='DeepGlobeLandCoverDataset', data_root=str(root), ann_file='splits/train.txt',
                 data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
                 pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                           dict(type='RandomRotate90', prob=1.0),
                           dict(type='GenerateMultiContextPatch', patch_size=P, contexts=(1.0, 3.0, 'global')),
                           dict(type='PackSegInputs', meta_keys=('img_path', 'ori_shape', 'img_shape', 'patch_box',
                                                                 'ctx_boxes', 'ctx_specs'))])
    ds = DATASETS.build(dict(type='UHRPatchDataset', dataset=inner, patch_size=P))
    assert len(ds) == 2 * 9  # 1100 x 1000 -> 3 x 3 patches each (headers read once)
    assert ds.metainfo['classes'][0] == 'unknown'
    s = ds[10]
    assert s['inputs'].shape == (9, P, P)
    assert s['data_samples'].ctx_boxes.shape == (2, 4)
    assert set(np.unique(s['data_samples'].gt_sem_seg.data.numpy())) == {2}
    rnd = DATASETS.build(dict(type='UHRPatchDataset', dataset=inner, sampling='random', num_random_per_image=4,
                              image_size=(1100, 1000)))
    assert len(rnd) == 8 and rnd[0]['inputs'].shape == (9, P, P)

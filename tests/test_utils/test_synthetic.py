"""The demo's synthetic data: land-cover-like structure, mmseg layout, GeoTIFF georeferencing."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from rsseg_ext.utils.synthetic import (CLASSES, generate_scene, make_synthetic_dataset,
                                       make_synthetic_geotiff)


def test_scene_is_deterministic_and_structured():
    img, lab = generate_scene(256, 320, seed=7)
    img2, lab2 = generate_scene(256, 320, seed=7)
    assert img.shape == (256, 320, 4) and img.dtype == np.uint8
    assert lab.shape == (256, 320) and lab.dtype == np.uint8
    assert np.array_equal(img, img2) and np.array_equal(lab, lab2)
    assert not np.array_equal(lab, generate_scene(256, 320, seed=8)[1])
    assert img.min() >= 1  # 0 stays free for nodata
    # land cover, not noise: neighbouring pixels mostly share their class
    same = (lab[1:, :] == lab[:-1, :]).mean()
    assert same > 0.9


def test_all_classes_and_spectral_separation():
    img, lab = generate_scene(768, 768, seed=1)
    present = set(np.unique(lab).tolist())
    assert present == set(range(len(CLASSES))), present
    means = np.stack([img[lab == c].mean(0) for c in range(len(CLASSES))])
    water, forest = CLASSES.index('water'), CLASSES.index('forest')
    # NIR: vegetation bright, water dark
    assert means[forest, 3] > 2 * means[water, 3]
    # classes differ in colour (a classifier can learn them)
    d = np.linalg.norm(means[:, None, :3] - means[None, :, :3], axis=-1)
    assert (d + np.eye(len(CLASSES)) * 1e3).min() > 10
    # roads are thin: their area is small compared with farmland
    assert (lab == CLASSES.index('road')).mean() < 0.2


def test_dataset_layout_and_resume(tmp_path):
    root = str(tmp_path / 'syn')
    counts = make_synthetic_dataset(root, num_scenes=dict(train=2, val=1), scene_size=128, tile=64)
    assert counts == dict(train=8, val=4)
    for split, n in counts.items():
        imgs = sorted(os.listdir(osp.join(root, 'img_dir', split)))
        anns = sorted(os.listdir(osp.join(root, 'ann_dir', split)))
        assert imgs == anns and len(imgs) == n
        im = cv2.imread(osp.join(root, 'img_dir', split, imgs[0]))
        an = cv2.imread(osp.join(root, 'ann_dir', split, anns[0]), cv2.IMREAD_UNCHANGED)
        assert im.shape == (64, 64, 3) and an.shape == (64, 64) and an.max() < len(CLASSES)
    # a re-run keeps finished files and leaves no temp files behind
    path = osp.join(root, 'img_dir', 'train', imgs[0])
    mtime = os.stat(path).st_mtime_ns
    assert make_synthetic_dataset(root, num_scenes=dict(train=2, val=1), scene_size=128, tile=64) == counts
    assert os.stat(path).st_mtime_ns == mtime
    assert not [f for _, _, fs in os.walk(root) for f in fs if not f.endswith('.png')]


def test_dataset_class_reads_layout(tmp_path):
    from mmseg.registry import DATASETS

    import rsseg_ext  # noqa: F401
    root = str(tmp_path / 'syn')
    make_synthetic_dataset(root, num_scenes=dict(train=1), scene_size=128, tile=64)
    ds = DATASETS.build(dict(type='SyntheticLandCoverDataset', data_root=root,
                             data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
                             pipeline=[]))
    assert len(ds) == 4
    assert ds.metainfo['classes'] == CLASSES
    assert ds[0]['seg_map_path'].endswith('.png')


def test_geotiff_round_trip(tmp_path):
    rasterio = pytest.importorskip('rasterio')
    path = str(tmp_path / 'scene.tif')
    label, mask = make_synthetic_geotiff(path, height=200, width=300, seed=5, crs='EPSG:32633',
                                         origin=(500000.0, 5400000.0), resolution=0.5, nodata=0)
    with rasterio.open(path) as src:
        assert src.count == 4 and src.dtypes[0] == 'uint8'
        assert src.crs.to_epsg() == 32633
        assert tuple(src.transform)[:6] == (0.5, 0.0, 500000.0, 0.0, -0.5, 5400000.0)
        assert src.nodata == 0
        data = src.read()
        valid = src.dataset_mask() > 0
    assert label.shape == (200, 300) and mask.any() and not mask.all()
    assert np.array_equal(~valid, mask)
    assert (data[:, mask] == 0).all() and (data[:, ~mask] > 0).all()
    assert not [f for f in os.listdir(tmp_path) if f != 'scene.tif']

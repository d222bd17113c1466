"""L8BiomeCloudDataset and GrassDataset read the documented expected layout through a real mmseg pipeline."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest


def _layout(root: str, img_ext: str, num_classes: int, splits=('train', 'val')) -> None:
    rng = np.random.default_rng(0)
    for split in splits:
        os.makedirs(osp.join(root, 'img_dir', split))
        os.makedirs(osp.join(root, 'ann_dir', split))
        for i in range(2):
            cv2.imwrite(osp.join(root, 'img_dir', split, f'{i:04d}{img_ext}'),
                        rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
            lab = rng.integers(0, num_classes, (16, 16)).astype(np.uint8)
            lab[0, 0] = 255
            cv2.imwrite(osp.join(root, 'ann_dir', split, f'{i:04d}.png'), lab)


@pytest.mark.parametrize('type_, img_ext, n', [('L8BiomeCloudDataset', '.png', 4), ('GrassDataset', '.tif', 5)])
def test_expected_layout_loads(tmp_path, type_, img_ext, n):
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules

    import rsseg_ext  # noqa: F401
    register_all_modules()
    root = str(tmp_path / 'data')
    _layout(root, img_ext, n)
    ds = DATASETS.build(dict(type=type_, data_root=root,
                             data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
                             pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                                       dict(type='PackSegInputs')]))
    assert len(ds) == 2 and len(ds.metainfo['classes']) == n == len(ds.metainfo['palette'])
    seg = ds[1]['data_samples'].gt_sem_seg.data
    assert seg[0, 0, 0] == 255 and int(seg[seg != 255].max()) < n  # ids untouched, 255 kept as ignore

"""configs/lovlanet: every config parses, ablation/sigma configs change only their flags, and the LoveDA config's
foreground-only protocol maps raw labels [0..7] to [255, 255, 0..5] through the mmseg loading path."""
import glob
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

import rsseg_ext  # noqa: F401
from conftest import REPO_ROOT
from mmseg.registry import DATASETS, TRANSFORMS

# the renamed paths' thin children ('kept for one release') are checked in test_renamed_configs.py
CONFIGS = sorted(p for p in glob.glob(osp.join(REPO_ROOT, 'configs', 'lovlanet', '**', '*.py'), recursive=True)
                 if 'kept for one release' not in open(p).read())
FLAGS = {'baseline': (False, False, False), 'kk': (True, False, False), 'gauss': (False, True, False),
         'rmlp': (False, False, True), 'kk-gauss': (True, True, False), 'kk-rmlp': (True, False, True),
         'gauss-rmlp': (False, True, True)}


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.relpath(p, REPO_ROOT) for p in CONFIGS])
def test_config_parses_with_paper_defaults(path):
    cfg = Config.fromfile(path)
    bb, head = cfg.model.backbone, cfg.model.decode_head
    assert bb.type == 'NKKViT' and head.type == 'LoVLANetHead'
    assert head.num_classes == len(head.class_names) == (5 if '_gid' in path else 6)
    assert head.loss_align.type == 'VLAlignLoss' and head.loss_align.loss_weight == 1.0
    assert cfg.optim_wrapper.optimizer.lr == 4e-4 and cfg.train_dataloader.batch_size == 2
    assert any(h['type'] == 'VocabularyHook' for h in cfg.custom_hooks)
    name = osp.basename(path)[:-3]
    sigma = name.split('_sigma')[1] if '_sigma' in name else '2.0'
    assert bb.sigma == float(sigma)
    flags = FLAGS.get(name.rsplit('_', 1)[1], (True, True, True))
    assert (bb.key_key, bb.gaussian_prior, bb.reduce_last_mlp) == flags


def test_loveda_foreground_only_label_mapping(tmp_path):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'lovlanet', 'lovlanet_vit-b32_loveda.py'))
    ds_cfg = dict(cfg.train_dataloader.dataset, data_root=str(tmp_path), lazy_init=True, pipeline=[])
    ds = DATASETS.build(ds_cfg)
    assert ds.metainfo['classes'] == cfg.model.decode_head.class_names
    raw = np.arange(8, dtype=np.uint8).reshape(2, 4)
    Image.fromarray(raw).save(tmp_path / 'ann.png')
    load = TRANSFORMS.build(dict(type='LoadAnnotations', reduce_zero_label=True))
    out = load(dict(seg_map_path=str(tmp_path / 'ann.png'), reduce_zero_label=True, label_map=ds.label_map,
                    seg_fields=[]))
    assert out['gt_seg_map'].flatten().tolist() == [255, 255, 0, 1, 2, 3, 4, 5]

"""Every SCSM / LOGCAN++ config builds and trains / predicts on CPU with a tiny backbone (one parametrised test)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData

import rsseg_ext  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

from conftest import REPO_ROOT

register_all_modules(init_default_scope=True)
# the renamed paths' thin children ('kept for one release') are checked in test_renamed_configs.py
CONFIGS = sorted(p for p in glob.glob(osp.join(REPO_ROOT, 'configs', 'scsm', '*.py')) +
                 glob.glob(osp.join(REPO_ROOT, 'configs', 'logcanplus', '*.py'))
                 if 'kept for one release' not in open(p).read())
TINY_WIDTHS = [16, 32, 64, 128]  # ResNetV1c-18 with base_channels=16


def tiny_model_cfg(cfg: Config) -> dict:
    """The config's model with a tiny ResNetV1c-18 (no pretrained weights), BN, and narrow heads; strides and
    dilations of a ResNet config are kept (D8 for SCSM, OS32 for LOGCAN++)."""
    model = cfg.model
    old = model.backbone
    strides, dilations = (1, 2, 1, 1), (1, 1, 2, 4)
    if old.type == 'ResNetV1c':
        strides, dilations = old.strides, old.dilations
    model.backbone = dict(type='ResNetV1c', depth=18, stem_channels=16, base_channels=16, out_indices=(0, 1, 2, 3),
                          strides=strides, dilations=dilations, contract_dilation=True, init_cfg=None)
    for name in ('decode_head', 'auxiliary_head'):
        head = model.get(name)
        if not head:
            continue
        idx = head.in_index
        head.in_channels = [TINY_WIDTHS[i] for i in idx] if isinstance(idx, (list, tuple)) else TINY_WIDTHS[idx]
        head.channels = 32 if name == 'decode_head' else 16
        if head.type == 'SCSMHead':
            head.transform_channels = 16
    model.data_preprocessor.size = (64, 64)
    return model


def _bn(d):
    if isinstance(d, dict):
        if d.get('type') == 'SyncBN':
            d['type'] = 'BN'
        for v in d.values():
            _bn(v)
    elif isinstance(d, list):
        for v in d:
            _bn(v)


@pytest.mark.parametrize('path', CONFIGS, ids=[osp.relpath(p, REPO_ROOT) for p in CONFIGS])
def test_config_builds_and_runs(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports == dict(imports=['rsseg_ext'], allow_failed_imports=False)
    init = cfg.model.backbone.init_cfg  # weights come from local files only
    assert init.type == 'LocalPretrained' and '://' not in init.checkpoint and 'pretrained' not in cfg.model
    model_cfg = tiny_model_cfg(cfg)
    _bn(model_cfg)
    model = MODELS.build(model_cfg)
    k = model.decode_head.num_classes
    torch.manual_seed(0)
    samples = []
    for _ in range(2):
        s = SegDataSample(gt_sem_seg=PixelData(data=torch.randint(0, k, (1, 64, 64))))
        s.set_metainfo(dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64)))
        samples.append(s)
    data = model.data_preprocessor(dict(inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)] * 2,
                                        data_samples=samples), True)
    losses = model(**data, mode='loss')
    assert 'decode.loss_ce' in losses and 'decode.pre.loss_ce' in losses
    assert ('aux.loss_ce' in losses) == (model_cfg.get('auxiliary_head') is not None)
    sum(v for n, v in losses.items() if 'loss' in n).backward()
    model.eval()
    with torch.no_grad():
        out = model(**model.data_preprocessor(data, False), mode='predict')
    assert out[0].pred_sem_seg.data.shape == (1, 64, 64)
    assert out[0].seg_logits.data.shape == (k, 64, 64)


ABLATIONS = sorted(p for p in glob.glob(osp.join(REPO_ROOT, 'configs', 'scsm', 'ablations', '*.py'))
                   if 'kept for one release' not in open(p).read())


@pytest.mark.parametrize('path', ABLATIONS, ids=[osp.basename(p)[:-3] for p in ABLATIONS])
def test_ablation_config_switches(path):
    """Each ablation config changes the head as its name says (the head is built at full size, no forward)."""
    cfg = Config.fromfile(path)
    head_cfg = cfg.model.decode_head
    _bn(head_cfg)
    head = MODELS.build(head_cfg)
    name = osp.basename(path)[len('scsm_r50-d8_8xb2-80k_loveda-512x512_'):-3]
    att = head.context.attention
    if name.startswith('freq'):
        assert att.dct.num_freqs == int(name[4:])
    elif name.startswith('block'):
        assert head.context.partition.block_size == int(name[5:]) == att.dct.dct_size
    elif name.startswith('dloss'):
        assert head.pre_loss_decode[0].loss_weight == float(name[5:])
    elif name == 'rope-identical':
        assert att.rope.mode == 'identical'
    elif name.startswith('pe-'):
        assert att.pos_encoding == {'none': 'none', 'sincos': 'sincos', 'cpe': 'cpe'}[name[3:]] and att.rope is None
    else:
        expected = {'smg-gg': ('global_mask', 'global_mask', True), 'sca-only': ('feature', 'feature', True),
                    'smg-gl_ga': ('local_mask', 'global_mask', False),
                    'smg-gg_ga': ('global_mask', 'global_mask', False), 'ga': ('feature', 'feature', False)}[name]
        assert (head.context.key_source, head.context.value_source, att.dct is not None) == expected
        if not expected[2]:
            assert att.rope is None and att.pe_q is None

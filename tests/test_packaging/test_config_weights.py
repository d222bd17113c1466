"""Missing pretrained weights are reported from the config, before anything is built (rsseg_ext.utils.config_weights,
tools/train.py)."""
import os
import os.path as osp
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, tool_env
from mmengine.config import Config

from rsseg_ext.utils.config_weights import (MissingWeightsError, check_config_weights, find_config_weights,
                                            missing_config_weights)

SCSM = osp.join(REPO_ROOT, 'configs', 'scsm', 'scsm_r50-d8_vaihingen.py')


def _keys(cfg_path):
    return {k: (p, s) for k, p, s in find_config_weights(Config.fromfile(cfg_path))}


def test_walk_finds_init_cfg_pretrained_and_module_checkpoints():
    scsm = _keys(SCSM)
    assert scsm['model.backbone.init_cfg.checkpoint'][0] == 'checkpoints/resnet50_v1c-2cccc1ad.pth'
    d2ls = _keys(osp.join(REPO_ROOT, 'configs', 'd2ls', 'd2ls_convnext_loveda.py'))
    path, source = d2ls['model.backbone.init_cfg.checkpoint']
    assert path.endswith('convnext-base_3rdparty_32xb128-noema_in1k_20220301-2a0ee547.pth') and 'openmmlab' in source
    lovla = _keys(osp.join(REPO_ROOT, 'configs', 'lovlanet', 'lovlanet_vit-b32_loveda.py'))
    assert {'model.backbone.pretrained', 'model.decode_head.text_encoder.checkpoint'} <= set(lovla)
    rskt = _keys(osp.join(REPO_ROOT, 'configs', 'rskt_seg', 'rskt-seg_vit-b16_dlrsd.py'))
    assert {'model.backbone.checkpoint', 'model.remote_clip.checkpoint', 'model.dino.checkpoint'} <= set(rskt)
    fctl = _keys(osp.join(REPO_ROOT, 'configs', 'fctl', 'staged', 'fctl_vgg16_frozen-ctx_inria.py'))
    assert {'model.context_backbone_init[0].checkpoint', 'model.context_backbone_init[1].checkpoint'} <= set(fctl)


def test_remote_references_and_none_are_not_local_files():
    cfg = dict(model=dict(type='EncoderDecoder', pretrained='open-mmlab://resnet50_v1c',
                          backbone=dict(type='ResNet', init_cfg=dict(type='Pretrained', checkpoint='torchvision://r')),
                          neck=dict(type='X', checkpoint='hf-hub:org/model'),
                          decode_head=dict(type='Y', init_cfg=None, checkpoint=None)),
               load_from=None)
    assert list(find_config_weights(cfg)) == []


def test_lists_init_cfg_and_load_from(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = dict(model=dict(type='EncoderDecoder', backbone=dict(
        type='ResNet', init_cfg=[dict(type='Kaiming'), dict(type='LocalPretrained', checkpoint='w/a.pth',
                                                               source='http://example/a.pth')])),
               load_from='w/b.pth')
    assert [k for k, _, _ in missing_config_weights(cfg)] == ['model.backbone.init_cfg[1].checkpoint', 'load_from']
    with pytest.raises(MissingWeightsError) as e:
        check_config_weights(cfg)
    msg = str(e.value)
    assert msg.startswith('2 weight files named by the config are missing, so nothing was built')
    assert f"model.backbone.init_cfg[1].checkpoint='w/a.pth' (looked for {tmp_path}/w/a.pth); get it from " \
           'http://example/a.pth' in msg
    os.makedirs('w')
    for name in ('a.pth', 'b.pth'):
        open(osp.join('w', name), 'wb').close()
    check_config_weights(cfg)  # present: nothing to say


def test_train_reports_missing_weights_before_building(tmp_path):
    """From an empty folder the SCSM config misses its ResNet-50 weights (and its data): one message about the
    weights, exit status 1, and no work_dir (mmengine's Runner creates it first thing, before the model)."""
    work = tmp_path / 'wd'
    res = subprocess.run([sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), SCSM, '--work-dir', str(work)],
                         cwd=str(tmp_path), env=tool_env(), capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stdout[-2000:] + res.stderr[-2000:]
    err = res.stderr
    assert 'Traceback' not in err
    assert err.startswith('train.py: 1 weight file named by the config is missing, so nothing was built'), err
    assert f"model.backbone.init_cfg.checkpoint='checkpoints/resnet50_v1c-2cccc1ad.pth' (looked for " \
           f"{tmp_path}/checkpoints/resnet50_v1c-2cccc1ad.pth); get it from " in err
    assert not work.exists()


def test_local_pretrained_message_reads_as_a_sentence(tmp_path):
    from mmengine.model import BaseModule

    from rsseg_ext.models.utils import WeightsNotFoundError
    from rsseg_ext.models.utils.local_pretrained import LocalPretrainedInit
    init = LocalPretrainedInit(checkpoint=str(tmp_path / 'nope.pth'), source='http://example/x.pth')
    with pytest.raises(WeightsNotFoundError) as e:
        init(BaseModule())
    msg = str(e.value)
    assert 'Or point init_cfg.checkpoint=<your path> at your copy.' in msg
    assert '(init_cfg=None trains it from scratch)' in msg and ')=<' not in msg

"""Every D2LS config builds (Config.fromfile + MODELS.build) and runs loss/backward/predict at tiny widths."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

from conftest import REPO_ROOT, one_torch_thread

# every D2LS config, ablations included; the renamed names' thin children are checked in test_renamed_configs.py
D2LS_CONFIGS = sorted(p for p in glob.glob(osp.join(REPO_ROOT, 'configs', 'd2ls', '**', '*.py'), recursive=True)
                      if 'kept for one release' not in open(p).read())
TINY_CONVNEXT = dict(depths=[1, 1, 1, 1], channels=[16, 32, 64, 128])


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors gain nothing from intra-op threads, and on a busy 2-core machine OpenMP barriers made these
    tests 20x slower (a descheduled worker thread stalls every op)."""
    with one_torch_thread():
        yield


def tiny_d2ls_model_cfg(cfg: Config) -> ConfigDict:
    """The config's model with tiny widths, no pretrained weights and BN instead of SyncBN."""
    from rsseg_ext.engine.dist_utils import sync_bn_to_bn
    model = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model)
    bb = model['backbone']
    bb['init_cfg'] = None
    if bb['type'] == 'mmpretrain.ConvNeXt':
        bb.update(arch=TINY_CONVNEXT, drop_path_rate=0.0)
        chans = TINY_CONVNEXT['channels']
    elif bb['type'] == 'ResNetV1c':
        bb.update(depth=18, stem_channels=8, base_channels=8)
        chans = [8, 16, 32, 64]
    else:
        raise AssertionError(f'no tiny override for backbone {bb["type"]}')
    for key in ('decode_head', 'auxiliary_head'):
        head = model.get(key)
        if not head:
            continue
        head['in_channels'] = list(chans)
        if head['type'] == 'D2LSHead':
            head.update(channels=32 if head.get('channels', 256) <= 256 else 64, num_heads=2)
        else:
            head['channels'] = 16
    model['data_preprocessor']['size'] = (64, 64)
    sync_bn_to_bn(model)
    return ConfigDict(model)


def fake_samples(n: int, num_classes: int, size: int = 64):
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(n):
        s = SegDataSample()
        label = torch.randint(0, num_classes, (1, size, size))
        label[:, :4] = 255
        s.gt_sem_seg = PixelData(data=label)
        s.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size)))
        samples.append(s)
    return samples


@pytest.mark.parametrize('path', D2LS_CONFIGS, ids=[osp.basename(p) for p in D2LS_CONFIGS])
def test_d2ls_config_builds_and_runs(path):
    import rsseg_ext  # noqa: F401
    from mmseg.registry import MODELS
    cfg = Config.fromfile(path)
    assert cfg.custom_imports == dict(imports=['rsseg_ext'], allow_failed_imports=False)
    assert '_delete_' not in cfg.pretty_text  # a _delete_ without a base key would reach the constructor
    init_default_scope('mmseg')
    model = MODELS.build(tiny_d2ls_model_cfg(cfg))
    model.init_weights()
    from mmengine.optim import build_optim_wrapper
    build_optim_wrapper(model, cfg.optim_wrapper)
    heads = [h for h in (model.decode_head, getattr(model, 'auxiliary_head', None)) if h is not None]
    num_classes = heads[0].num_classes
    torch.manual_seed(0)
    x = torch.randn(2, 3, 64, 64)
    model.train()
    losses = model.loss(x, fake_samples(2, num_classes))
    total, log_vars = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    allowed = cfg.get('model_wrapper_cfg', {}).get('find_unused_parameters', False)
    assert not unused or allowed, f'no gradient (DDP with find_unused_parameters=False would fail): {unused}'
    model.eval()
    with torch.no_grad():
        preds = model.predict(x, fake_samples(2, num_classes))
    assert preds[0].seg_logits.data.shape == (num_classes, 64, 64)
    assert int(preds[0].pred_sem_seg.data.max()) < num_classes


def test_missing_pretrained_weights_give_a_clear_error(tmp_path, monkeypatch):
    """The backbone reads ImageNet weights from a local path only; a missing file says where to put it."""
    import rsseg_ext  # noqa: F401
    from mmseg.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'd2ls', 'd2ls_convnext-b_8xb1-16k_loveda-512x512.py'))
    init_default_scope('mmseg')
    bb = cfg.model.backbone.to_dict()
    bb.update(arch=TINY_CONVNEXT)
    monkeypatch.chdir(tmp_path)
    backbone = MODELS.build(bb)
    with pytest.raises(FileNotFoundError) as e:
        backbone.init_weights()
    msg = str(e.value)
    assert 'checkpoints/convnext-base_3rdparty_32xb128-noema_in1k_20220301-2a0ee547.pth' in msg
    assert 'download.openmmlab.com' in msg and 'never downloads' in msg
    # with the file present the weights are loaded (prefix 'backbone.' stripped)
    ref = MODELS.build(dict(bb, init_cfg=None))
    (tmp_path / 'checkpoints').mkdir()
    torch.save({'state_dict': {'backbone.' + k: v + 1 for k, v in ref.state_dict().items()}},
               tmp_path / 'checkpoints' / osp.basename(bb['init_cfg']['checkpoint']))
    backbone.init_weights()
    for (k, a), b in zip(ref.state_dict().items(), backbone.state_dict().values()):
        torch.testing.assert_close(a + 1, b, msg=k)
    with pytest.raises(ValueError, match='local file'):
        MODELS.build(dict(bb, init_cfg=dict(type='LocalPretrained', checkpoint='https://x/y.pth'))).init_weights()

"""Every FCtL config loads and builds its full-size model (on the meta device: no memory, no weights), and two of
them train one step and run whole-image inference at tiny widths."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

from conftest import REPO_ROOT, one_torch_thread

import rsseg_ext  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from rsseg_ext.models.utils.weight_loading import WeightsNotFoundError

# the renamed paths' thin children ('kept for one release') are checked in test_renamed_configs.py
FCTL_CONFIGS = sorted(p for p in glob.glob(osp.join(REPO_ROOT, 'configs', 'fctl', '**', '*.py'), recursive=True)
                      if 'kept for one release' not in open(p).read())


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmseg')
    with one_torch_thread():
        yield


def test_all_six_method_configs_exist():
    names = {osp.basename(p) for p in FCTL_CONFIGS}
    iters = {'deepglobe': '34k', 'inria': '32k'}
    assert {f'fctl_{b}_4xb6-{iters[d]}_{d}-508x508.py' for b in ('vgg16', 'mit-b2', 'mit-b5') for d in iters} <= names


@pytest.mark.parametrize('path', FCTL_CONFIGS, ids=lambda p: osp.relpath(p, osp.join(REPO_ROOT, 'configs')))
def test_config_builds_full_model_on_meta(path, monkeypatch):
    cfg = Config.fromfile(path)
    assert 'rsseg_ext' in cfg.custom_imports['imports']
    model_cfg = cfg.model.to_dict()
    linspace = torch.linspace  # MiT reads its drop-path schedule with .item(): keep that one tensor real
    monkeypatch.setattr(torch, 'linspace', lambda *a, **k: linspace(*a, **{**k, 'device': 'cpu'}))
    with torch.device('meta'):
        model = MODELS.build(model_cfg)
    dataset = 'deepglobe' if 'deepglobe' in path else 'inria'
    k = 7 if dataset == 'deepglobe' else 2
    assert model.decode_head.out_channels == k
    # the pipeline cuts the contexts the model expects, and the metric leaves the right class out of the means
    gen = [t for t in cfg.train_dataloader.dataset.dataset.pipeline if t['type'] == 'GenerateMultiContextPatch'][0]
    assert tuple(gen['contexts']) == tuple(model.contexts)
    assert list(cfg.val_evaluator.exclude_classes) == (['unknown'] if dataset == 'deepglobe' else ['background'])
    if model.fusion is not None:
        assert len(model.context_backbones) == len(model.ctx_specs)
    if 'mit-b5' in path:
        assert [len(layer[1]) for layer in model.backbone.layers] == [3, 6, 40, 3]
    if 'vgg16' in path and 'staged' not in path and model.fusion is not None:
        n = sum(p.numel() for p in model.parameters())
        assert 165e6 < n < 180e6  # ~172M for FCtL-VGG16 (docs/methods/fctl.md)


def test_pretrained_weights_are_local_only_with_a_clear_error():
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'fctl', 'fctl_mit-b2_inria.py'))
    m = cfg.model.to_dict()
    m['backbone'].update(embed_dims=8, num_layers=[1, 1, 1, 1])
    m['fusion']['in_channels'] = 64
    m['fusion']['lcc']['key_channels'] = 8
    m['decode_head'].update(in_channels=[8, 16, 40, 64], channels=16)
    model = MODELS.build(m)
    with pytest.raises(WeightsNotFoundError, match='mit_b2_20220624-66e8bf70.pth'):
        model.init_weights()


def _tiny(path):
    cfg = Config.fromfile(path)
    m = cfg.model.to_dict()
    p = 64
    m['patch_size'] = p
    m['test_cfg'].update(patch_size=p, min_overlap=8)
    if m['backbone']['type'] == 'mmpretrain.VGG':
        m['backbone'].update(depth=11, init_cfg=None)
        m['decode_head'].update(channels=16, fc_init_from=None)
    else:
        m['backbone'].update(embed_dims=8, num_layers=[1, 1, 1, 1], init_cfg=None)
        m['decode_head'].update(in_channels=[8, 16, 40, 64], channels=16)
    m['fusion']['in_channels'] = m['backbone'].get('embed_dims', 64) * 8 if 'embed_dims' in m['backbone'] else 512
    m['fusion']['lcc']['key_channels'] = 8
    return cfg, MODELS.build(m)


@pytest.mark.parametrize('name', ['fctl_vgg16_deepglobe.py', 'fctl_mit-b2_inria.py'])
def test_tiny_train_step_and_whole_image_inference(name):
    cfg, model = _tiny(osp.join(REPO_ROOT, 'configs', 'fctl', name))
    n_in = 3 * (1 + len(model.ctx_specs))
    k = model.decode_head.out_channels
    samples = []
    for _ in range(2):
        s = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64),
                                        ctx_boxes=model.default_ctx_boxes(1)[0].numpy()))
        s.gt_sem_seg = PixelData(data=torch.randint(0, k, (1, 64, 64)))
        samples.append(s)
    inputs = [torch.randint(0, 256, (n_in, 64, 64), dtype=torch.uint8) for _ in range(2)]
    model.train()
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    losses['decode.loss_focal'].backward()
    assert torch.isfinite(losses['decode.loss_focal'])
    model.eval()
    img = torch.randint(0, 256, (3, 100, 140), dtype=torch.uint8)
    s = SegDataSample(metainfo=dict(img_shape=(100, 140), ori_shape=(100, 140)))
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=[img], data_samples=[s]), False)
        out = model.predict(data['inputs'], data['data_samples'])[0]
    assert out.pred_sem_seg.data.shape == (1, 100, 140)
    assert out.pred_sem_seg.data.max() < k


def test_runner_trains_and_tests_on_converted_fake_deepglobe(tmp_path):
    """Config -> converter output -> UHRPatchDataset / GenerateMultiContextPatch -> accumulation -> whole-image
    val/test with "unknown" left out of the means, through mmengine's Runner (tiny widths, 32 px patches)."""
    import sys
    from mmengine.runner import Runner

    from conftest import load_fake_data
    sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
    import deepglobe
    raw = tmp_path / 'raw'
    raw.mkdir()
    load_fake_data('deepglobe').make_archive(str(raw))
    out = str(tmp_path / 'dg')
    deepglobe.convert(str(raw), out)
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'fctl', 'fctl_mit-b2_deepglobe.py'))
    m = cfg.model
    m.patch_size = 32
    m.test_cfg.update(patch_size=32, min_overlap=8)
    m.backbone.update(embed_dims=8, num_layers=[1, 1, 1, 1], init_cfg=None)
    m.decode_head.update(in_channels=[8, 16, 40, 64], channels=16)
    m.fusion.in_channels = 64
    m.fusion.lcc.key_channels = 8
    cfg.train_dataloader.dataset.update(patch_size=32, min_overlap=8, image_size=(48, 48))
    cfg.train_dataloader.dataset.dataset.pipeline[4].update(patch_size=32, min_overlap=8)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        d = cfg[key]
        d.update(num_workers=0, persistent_workers=False, batch_size=2 if key == 'train_dataloader' else 1)
        (d.dataset.dataset if key == 'train_dataloader' else d.dataset).data_root = out
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.optim_wrapper.accumulative_counts = 2
    cfg.param_scheduler[0].end = 2
    cfg.default_hooks.checkpoint.update(interval=2)
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook')
    cfg.work_dir = str(tmp_path / 'work')
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    cfg.visualizer.name = f'fctl_runner_{tmp_path.name}'  # not the shared 'visualizer' of other in-process runs
    runner = Runner.from_cfg(cfg)
    n_train = len(open(osp.join(out, 'splits', 'train.txt')).read().split())
    assert len(runner.train_dataloader.dataset) == n_train * 4  # (2 x 2) patches of 32 px in a 48 px image
    runner.train()
    metrics = runner.test()
    assert {'mIoU', 'mF1', 'OA'} <= set(metrics)

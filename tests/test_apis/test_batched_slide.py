"""Segmentor-level slide mode on the scene engine: equal to mmseg's slide_inference; swapped in by tools."""
import importlib.util
import os.path as osp

import pytest
import torch

pytest.importorskip('mmseg.models')

from mmengine.config import Config, ConfigDict  # noqa: E402
from test_scene_inferencer import NUM_CLASSES, STRIDE, WINDOW, build_tiny_model, make_image  # noqa: E402

import rsseg_ext  # noqa: E402,F401
from rsseg_ext.models.segmentors import BatchedSlideEncoderDecoder, use_batched_slide  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def batched_copy(model, **test_cfg):
    from mmseg.registry import MODELS
    cfg = ConfigDict(model.cfg_for_test)
    cfg.type = 'BatchedSlideEncoderDecoder'
    cfg.test_cfg.update(test_cfg)
    bm = MODELS.build(cfg)
    bm.load_state_dict(model.state_dict())
    return bm.eval()


@pytest.fixture(scope='module')
def model():
    m = build_tiny_model()
    m.cfg_for_test = dict(
        type='EncoderDecoder', data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                                                      std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
                                                      seg_pad_val=255),
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=8, base_channels=8, num_stages=4, out_indices=(3, ),
                      dilations=(1, 1, 1, 1), strides=(1, 2, 2, 2), norm_cfg=dict(type='BN', requires_grad=True),
                      norm_eval=False, style='pytorch', contract_dilation=True),
        decode_head=dict(type='FCNHead', in_channels=64, in_index=0, channels=8, num_convs=1, concat_input=False,
                         dropout_ratio=0.0, num_classes=NUM_CLASSES, norm_cfg=dict(type='BN', requires_grad=True),
                         align_corners=False,
                         loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        train_cfg=dict(), test_cfg=dict(mode='slide', crop_size=(WINDOW, WINDOW), stride=(STRIDE, STRIDE)))
    return m


@pytest.mark.parametrize('batch_windows', [1, 4])
def test_equals_stock_slide_inference(model, batch_windows):
    imgs = [torch.from_numpy(make_image(300, 500, seed=s)) for s in (0, 1)]  # a batch of two images
    ours = batched_copy(model, batch_windows=batch_windows)
    assert isinstance(ours, BatchedSlideEncoderDecoder)
    with torch.no_grad():
        x = model.data_preprocessor(dict(inputs=imgs), False)['inputs']
        metas_a = [dict(img_shape=(300, 500), ori_shape=(300, 500), pad_shape=(300, 500)) for _ in imgs]
        metas_b = [dict(m) for m in metas_a]
        ref = model.slide_inference(x, metas_a)
        got = ours.slide_inference(x, metas_b)
    assert got.shape == ref.shape == (2, NUM_CLASSES, 300, 500)
    assert torch.allclose(got, ref, atol=1e-5, rtol=0), (got - ref).abs().max()
    assert metas_b[0]['img_shape'] == (300, 500)  # the caller's metas are not modified
    # the whole test path (predict -> inference -> slide) gives the same labels
    from mmseg.structures import SegDataSample
    samples = [SegDataSample(metainfo=m) for m in metas_a]
    with torch.no_grad():
        p_ref = model.predict(x, [SegDataSample(metainfo=dict(m, img_shape=(300, 500))) for m in metas_a])
        p_got = ours.predict(x, samples)
    for a, b in zip(p_ref, p_got):
        assert torch.equal(a.pred_sem_seg.data, b.pred_sem_seg.data)
    # gaussian blending is available here too
    with torch.no_grad():
        g = batched_copy(model, batch_windows=3, blend='gaussian').slide_inference(x, metas_b)
    assert g.shape == ref.shape and not torch.allclose(g, ref, atol=1e-5)


def test_swap_function():
    base = dict(type='EncoderDecoder', test_cfg=dict(mode='slide', crop_size=(64, 64), stride=(32, 32)))
    cfg = dict(base, test_cfg=dict(base['test_cfg'], batch_windows=8))
    assert use_batched_slide(cfg) and cfg['type'] == 'BatchedSlideEncoderDecoder'
    cfg = dict(base, type='mmseg.CascadeEncoderDecoder', test_cfg=dict(base['test_cfg'], batch_windows=2))
    assert use_batched_slide(cfg) and cfg['type'] == 'BatchedSlideCascadeEncoderDecoder'
    plain = dict(base)
    assert not use_batched_slide(plain) and plain['type'] == 'EncoderDecoder'  # no batch_windows: stock
    whole = dict(type='EncoderDecoder', test_cfg=dict(mode='whole', batch_windows=4))
    assert not use_batched_slide(whole) and whole['type'] == 'EncoderDecoder'
    custom = dict(type='FCtLSegmentor', test_cfg=dict(mode='slide', batch_windows=4))
    assert not use_batched_slide(custom) and custom['type'] == 'FCtLSegmentor'
    tta = dict(type='SegTTAModel', module=dict(base, test_cfg=dict(base['test_cfg'], batch_windows=4)))
    assert use_batched_slide(tta) and tta['module']['type'] == 'BatchedSlideEncoderDecoder'
    assert not use_batched_slide(None)


def test_prepare_launch_and_test_tool_use_it(tmp_path, monkeypatch):
    from rsseg_ext.engine.cli import prepare_launch
    cfg = Config(dict(model=dict(type='EncoderDecoder', test_cfg=dict(mode='slide', crop_size=(64, 64),
                                                                      stride=(32, 32), batch_windows=4))))
    prepare_launch(cfg, 'none')
    assert cfg.model.type == 'BatchedSlideEncoderDecoder'
    # tools/test.py: the model the Runner gets has the batched slide type
    demo = osp.join(REPO, 'configs', 'demo', 'fcn_r18-tiny_synthetic.py')
    ckpt = tmp_path / 'x.pth'
    ckpt.write_bytes(b'')
    spec = importlib.util.spec_from_file_location('rsseg_test_tool', osp.join(REPO, 'tools', 'test.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    seen = {}

    class FakeRunner:
        @staticmethod
        def from_cfg(c):
            seen['type'] = c.model.type
            seen['test_cfg'] = dict(c.model.test_cfg)
            return FakeRunner()

        def test(self):
            pass

    monkeypatch.setattr(tool, 'Runner', FakeRunner)
    monkeypatch.setattr('sys.argv', [
        'test.py', demo, str(ckpt), '--work-dir', str(tmp_path), '--cfg-options', 'model.test_cfg.mode=slide',
        'model.test_cfg.crop_size=(64,64)', 'model.test_cfg.stride=(48,48)', 'model.test_cfg.batch_windows=4'
    ])
    tool.main()
    assert seen['type'] == 'BatchedSlideEncoderDecoder' and seen['test_cfg']['batch_windows'] == 4

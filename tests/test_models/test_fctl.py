"""FCtL segmentor: training forward, whole-image (UHR) inference on a 2448x2448 image against patch-by-patch runs,
the global-feature cache, D4 TTA, the identity at initialisation, the preprocessor, train/test context
consistency, and the FCN-8s head."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

import rsseg_ext  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from rsseg_ext.datasets.transforms.multi_context import GenerateMultiContextPatch
from rsseg_ext.utils.grid import uhr_grid
from conftest import one_torch_thread

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmseg')
    torch.manual_seed(0)
    with one_torch_thread():
        yield


@MODELS.register_module(force=True)
class FCtLTestTinyConvNet(nn.Module):
    """5 stride-2 conv stages (like VGG's 5 pools, ceil sizes): 508 -> 254, 127, 64, 32, 16."""

    def __init__(self, widths=(4, 8, 8, 16, 16), out_indices=(2, 3, 4)):
        super().__init__()
        chans = (3,) + tuple(widths)
        self.stages = nn.ModuleList(
            nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], 3, 2, 1), nn.ReLU()) for i in range(len(widths)))
        self.out_indices = out_indices

    def forward(self, x):
        outs = []
        for i, s in enumerate(self.stages):
            x = s(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


def tiny_cfg(contexts=(1.0, 3.0, 'global'), fusion=True, num_classes=7, patch=508, **test_cfg):
    fus = dict(type='LCFALEFusion', in_channels=16, lcc=dict(key_channels=8, zero_init_gamma=False),
               ale=dict(lfi=dict(kernel_sizes=(3, 5)))) if fusion else None
    return dict(
        type='MultiContextEncoderDecoder',
        data_preprocessor=dict(type='MultiContextSegDataPreProcessor', mean=MEAN, std=STD, bgr_to_rgb=True),
        backbone=dict(type='FCtLTestTinyConvNet'), contexts=contexts, patch_size=patch, fusion=fus,
        decode_head=dict(type='FCN8sHead', in_channels=(8, 16, 16), channels=16, num_classes=num_classes,
                         dropout_ratio=0.0, loss_decode=dict(type='SoftmaxFocalLoss', gamma=3.0)),
        test_cfg=dict(mode='uhr', **test_cfg))


def build(**kw):
    model = MODELS.build(tiny_cfg(**kw))
    return model.eval()


def _sample(h, w, seed=0):
    rng = np.random.default_rng(seed)
    # smooth-ish content (blocks) so resizing is not dominated by noise
    img = rng.integers(0, 256, (h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8).repeat(16, 0).repeat(16, 1)[:h, :w]
    gt = rng.integers(0, 7, (h // 32 + 1, w // 32 + 1), dtype=np.uint8).repeat(32, 0).repeat(32, 1)[:h, :w]
    return np.ascontiguousarray(img), np.ascontiguousarray(gt)


def _normalise(model, img_bgr: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(img_bgr).permute(2, 0, 1)
    data = model.data_preprocessor(dict(inputs=[x], data_samples=[SegDataSample()]), False)
    return data['inputs']


# ---- training forward ---------------------------------------------------------------------------------------------
def test_loss_backward_with_generated_patches():
    model = build()
    model.train()
    img, gt = _sample(700, 900)
    gen = GenerateMultiContextPatch(patch_size=508, contexts=(1.0, 3.0, 'global'))
    inputs, samples = [], []
    for idx in (0, 3):
        r = gen(dict(img=img, gt_seg_map=gt, seg_fields=['gt_seg_map'], patch_index=idx))
        inputs.append(torch.from_numpy(r['img']).permute(2, 0, 1))
        s = SegDataSample(metainfo=dict(img_shape=(508, 508), ori_shape=(508, 508), ctx_boxes=r['ctx_boxes']))
        s.gt_sem_seg = PixelData(data=torch.from_numpy(r['gt_seg_map'])[None].long())
        samples.append(s)
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True)
    assert data['inputs'].shape == (2, 9, 508, 508)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'decode.loss_focal', 'decode.acc_seg'}
    losses['decode.loss_focal'].backward()
    for name in ('backbone.stages.0.0.weight', 'context_backbones.0.stages.0.0.weight',
                 'context_backbones.1.stages.0.0.weight', 'fusion.lcc.1.query.weight',
                 'fusion.ale.blocks.3.tok_tar.weight'):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    # 'whole' test mode on stacked inputs gives patch logits; tensor mode works without metas
    model.eval()
    model.test_cfg['mode'] = 'whole'
    with torch.no_grad():
        out = model.predict(data['inputs'], data['data_samples'])
        assert out[0].seg_logits.data.shape == (7, 508, 508)
        assert model._forward(data['inputs']).shape == (2, 7, 512, 512)
    with pytest.raises(ValueError, match='expected 9 input channels'):
        model.extract_feat(data['inputs'][:, :3])


def test_frozen_context_backbones_stay_eval_without_grad():
    cfg = tiny_cfg()
    cfg['freeze_context_backbone'] = True
    model = MODELS.build(cfg).train()
    assert all(not p.requires_grad for p in model.context_backbones.parameters())
    assert not model.context_backbones[0].training and model.backbone.training
    shared = tiny_cfg()
    shared['share_context_backbone'] = True
    assert not hasattr(MODELS.build(shared), 'context_backbones')


# ---- check 6: identity at initialisation --------------------------------------------------------------------------
def test_zero_gamma_without_ale_equals_local_only_baseline():
    cfg = tiny_cfg()
    cfg['fusion'] = dict(type='LCFALEFusion', in_channels=16, use_ale=False, lcc=dict(key_channels=8))
    model = MODELS.build(cfg).eval()
    base = build(fusion=False, contexts=(1.0,))
    base.load_state_dict(model.state_dict(), strict=False)
    x = torch.randn(2, 9, 508, 508)
    with torch.no_grad():
        torch.testing.assert_close(model._forward(x), base._forward(x[:, :3]), rtol=0, atol=0)


# ---- the must-show: whole-image inference == patch by patch -------------------------------------------------------
def _patch_by_patch(model, x: torch.Tensor) -> torch.Tensor:
    """Independent reference: every grid patch on its own (batch 1), contexts cut with an explicit pad-then-crop
    (the code's ``global2bigpatch``: sz = (lam - 1) p / 2), the global branch's backbone run for every patch, sum /
    count."""
    _, _, h, w = x.shape
    p = 508
    pad = ((0 - torch.tensor(MEAN)) / torch.tensor(STD)).view(3, 1, 1)
    canvas = torch.zeros(model.decode_head.out_channels, h, w)
    count = torch.zeros(1, h, w)
    sz = (3 * p - p) // 2
    big = pad.expand(3, h + 2 * sz, w + 2 * sz).clone()
    big[:, sz:sz + h, sz:sz + w] = x[0]
    glob = F.interpolate(x, size=(p, p), mode='bilinear', align_corners=False, antialias=True)
    for (y1, x1, y2, x2) in uhr_grid(h, w, p, 50):
        ctx3 = big[:, y1:y1 + 3 * p, x1:x1 + 3 * p][None]
        ctx3 = F.interpolate(ctx3, size=(p, p), mode='bilinear', align_corners=False, antialias=True)
        boxes = torch.tensor([[[1 / 3, 1 / 3, 2 / 3, 2 / 3], [x1 / w, y1 / h, x2 / w, y2 / h]]])
        logits = model.forward_patches(x[:, :, y1:y2, x1:x2], [ctx3, glob], boxes)
        canvas[:, y1:y2, x1:x2] += logits[0]
        count[:, y1:y2, x1:x2] += 1
    return (canvas / count)[None]


def test_whole_image_inference_2448_equals_patch_by_patch():
    model = build(sub_batch_size=12, num_classes=3)
    img, _ = _sample(2448, 2448, seed=1)
    x = _normalise(model, img)
    assert len(model.patch_grid(2448, 2448)) == 36
    calls = []
    model.context_backbones[1].register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    with torch.no_grad():
        whole = model.inference(x, [dict(img_shape=(2448, 2448), ori_shape=(2448, 2448))])
        assert calls == [1]  # the global context's backbone ran once for the whole image
        ref = _patch_by_patch(model, x)
    assert whole.shape == (1, 3, 2448, 2448)
    torch.testing.assert_close(whole, ref, rtol=1e-5, atol=1e-5)
    assert torch.equal(whole.argmax(1), ref.argmax(1))


def test_global_cache_off_gives_the_same_logits_and_predict_api():
    model = build(sub_batch_size=4, patch=128)  # a 128 px patch keeps this fast; the geometry is the same
    img, _ = _sample(200, 300, seed=2)
    x = _normalise(model, img)
    with torch.no_grad():
        a = model.uhr_inference(x)
        model.test_cfg['cache_global'] = False
        b = model.uhr_inference(x)
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
        # predict() on the full image (mmseg API): labels at full resolution
        s = SegDataSample(metainfo=dict(img_shape=(200, 300), ori_shape=(200, 300)))
        out = model.predict(x, [s])[0]
        assert out.pred_sem_seg.data.shape == (1, 200, 300)
        assert torch.equal(out.pred_sem_seg.data[0], a[0].argmax(0))


def test_smaller_than_a_patch_and_inria_contexts():
    model = build(contexts=(1.0, 2.0, 3.0), sub_batch_size=8, patch=128)
    with torch.no_grad():
        out = model.uhr_inference(torch.randn(1, 3, 90, 200))
    assert out.shape == (1, 7, 90, 200) and torch.isfinite(out).all()


# ---- check 16: stitching with a per-pixel model and D4 TTA --------------------------------------------------------
class _PerPixel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 1)

    def forward(self, x):
        return self.conv(x)


def test_per_pixel_model_stitching_equals_whole_image_and_d4_is_neutral():
    model = build(fusion=False, contexts=(1.0,), num_classes=5, sub_batch_size=16, patch=128)
    pix = _PerPixel()
    model.forward_patches = lambda patches, contexts, boxes, ctx_feats=None: pix(patches)
    x = torch.randn(1, 3, 330, 250)
    with torch.no_grad():
        full = pix(x)
        torch.testing.assert_close(model.uhr_inference(x), full, rtol=1e-5, atol=1e-5)
        model.test_cfg['tta'] = 'd4'  # a per-pixel model is D4-equivariant: TTA sums 8 identical maps
        torch.testing.assert_close(model.uhr_inference(x), 8 * full, rtol=1e-5, atol=1e-4)


# ---- check 19: preprocessor ---------------------------------------------------------------------------------------
def test_preprocessor_normalises_each_group():
    model = build()
    pre = model.data_preprocessor
    stacked = torch.randint(0, 256, (9, 32, 32), dtype=torch.uint8)
    out = pre(dict(inputs=[stacked], data_samples=[SegDataSample()]), False)['inputs'][0]
    for g in range(3):
        alone = pre(dict(inputs=[stacked[3 * g:3 * g + 3]], data_samples=[SegDataSample()]), False)['inputs'][0]
        assert torch.equal(out[3 * g:3 * g + 3], alone)
    rgb = stacked[3:6].flip(0).float()  # BGR -> RGB, then mean/std in RGB order
    torch.testing.assert_close(out[3:6], (rgb - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1))
    with pytest.raises(ValueError, match='multiple of group_channels'):
        pre(dict(inputs=[stacked[:4]], data_samples=[SegDataSample()]), False)
    # padding at test time is the normalised raw 0
    torch.testing.assert_close(model.pad_value(), (0 - torch.tensor(MEAN)) / torch.tensor(STD))


# ---- check 20: train/test context consistency ---------------------------------------------------------------------
def test_training_crops_match_the_test_path():
    model = build(sub_batch_size=4)
    img, _ = _sample(1200, 1000, seed=3)
    gen = GenerateMultiContextPatch(patch_size=508, contexts=(1.0, 3.0, 'global'))
    x = _normalise(model, img)
    win = uhr_grid(1200, 1000, 508)[3]
    r = gen(dict(img=img, patch_box=win))
    crops, boxes = model._context_inputs(x[0], [win], list(model.ctx_specs), 508, model.pad_value())
    std, mean = torch.tensor(STD).view(3, 1, 1), torch.tensor(MEAN).view(3, 1, 1)
    for j, crop in enumerate(crops):
        raw_test = (crop[0] * std + mean).flip(0)  # de-normalise, back to BGR
        raw_train = torch.from_numpy(r['img'][..., 3 * (j + 1):3 * (j + 2)]).permute(2, 0, 1).float()
        assert (raw_test - raw_train).abs().max() <= 1.0  # only the uint8 rounding of the training path
    torch.testing.assert_close(boxes[0], torch.from_numpy(r['ctx_boxes']))


# ---- checks 12 and 13: VGG16 / FCN-8s shapes and parameter counts ----------------------------------------------
def test_vgg16_fcn8s_shapes_and_parameter_counts():
    with torch.device('meta'):  # shapes and counts without allocating 134M parameters
        vgg = MODELS.build(dict(type='mmpretrain.VGG', depth=16, num_classes=-1, out_indices=(2, 3, 4),
                                ceil_mode=True, with_last_pool=True))
        head = MODELS.build(dict(type='FCN8sHead', in_channels=(256, 512, 512), channels=4096, num_classes=7))
        feats = vgg(torch.empty(2, 3, 508, 508))
        assert [tuple(f.shape) for f in feats] == [(2, 256, 64, 64), (2, 512, 32, 32), (2, 512, 16, 16)]
        assert tuple(head(list(feats)).shape) == (2, 7, 512, 512)
    assert sum(p.numel() for p in vgg.parameters()) == 14_714_688
    assert sum(p.numel() for p in head.parameters()) == 119_579_925  # fixed deconvolutions are not parameters
    # predict crops top-left to the image (512 -> 508), it does not resize
    small = MODELS.build(dict(type='FCN8sHead', in_channels=(4, 4, 4), channels=8, num_classes=3))
    logits = torch.randn(1, 3, 512, 512)
    out = small.predict_by_feat(logits, [dict(img_shape=(508, 508))])
    assert torch.equal(out, logits[..., :508, :508])


def test_fixed_bilinear_upsampling_keeps_constants():
    head = MODELS.build(dict(type='FCN8sHead', in_channels=(4, 4, 4), channels=8, num_classes=3))
    const = torch.full((1, 3, 6, 6), 2.5)
    for up, f in ((head.up2_a, 2), (head.up8, 8)):
        out = up(const)
        assert out.shape[-1] == 6 * f
        torch.testing.assert_close(out[..., f:-f, f:-f], torch.full_like(out[..., f:-f, f:-f], 2.5))
    assert not any('up' in n for n, _ in head.named_parameters())


def test_fc6_fc7_initialised_from_a_local_vgg_checkpoint(tmp_path):
    ckpt = tmp_path / 'vgg.pth'
    fc6, fc7 = torch.randn(8, 4 * 7 * 7), torch.randn(8, 8)
    torch.save({'state_dict': {'backbone.classifier.0.weight': fc6, 'backbone.classifier.0.bias': torch.ones(8),
                               'backbone.classifier.3.weight': fc7, 'backbone.classifier.3.bias': torch.zeros(8)}},
               str(ckpt))
    head = MODELS.build(dict(type='FCN8sHead', in_channels=(4, 4, 4), channels=8, num_classes=3,
                             fc_init_from=str(ckpt)))
    head.init_weights()
    assert torch.equal(head.conv6.weight, fc6.view(8, 4, 7, 7)) and torch.equal(head.conv7.weight[..., 0, 0], fc7)
    missing = MODELS.build(dict(type='FCN8sHead', in_channels=(4, 4, 4), channels=8, num_classes=3,
                                fc_init_from=str(tmp_path / 'nope.pth')))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        missing.init_weights()

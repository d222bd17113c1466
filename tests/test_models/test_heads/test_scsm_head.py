"""SCSMHead: CPU sanity checks (shapes, reduction to vanilla attention, SMG, losses, gradient flow,
determinism) and the Table 7 complexity calibration."""
import math
import re
import runpy
import sys

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData

import rsseg_ext  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules
from rsseg_ext.models.utils import SceneCouplingAttention

register_all_modules(init_default_scope=True)
NORM = dict(type='BN', requires_grad=True)


def _head(**kw):
    cfg = dict(type='SCSMHead', in_channels=64, in_index=3, channels=32, transform_channels=16, num_freqs=4,
               num_classes=5, block_size=7, norm_cfg=NORM)
    cfg.update(kw)
    return MODELS.build(cfg)


def _inputs(h, w, c=64):
    return [torch.randn(2, 8, 2 * h, 2 * w), torch.randn(2, 16, h, w), torch.randn(2, 32, h, w),
            torch.randn(2, c, h, w)]


def _samples(n, h, w, k, ignore_frac=0.0):
    out = []
    for _ in range(n):
        label = torch.randint(0, k, (1, h, w))
        s = SegDataSample(gt_sem_seg=PixelData(data=label))
        s.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        out.append(s)
    return out


def test_shapes_backbone_like():
    head = _head(in_channels=2048, channels=128, transform_channels=64, num_freqs=16)
    feats = [torch.randn(2, 256, 32, 32), torch.randn(2, 512, 16, 16), torch.randn(2, 1024, 16, 16),
             torch.randn(2, 2048, 16, 16)]
    main, pre = head(feats)
    assert main.shape == pre.shape == (2, 5, 16, 16)


@pytest.mark.parametrize('hw', [(15, 23), (10, 10), (4, 30)])
def test_shapes_non_divisible_and_small(hw):
    head = _head()
    main, pre = head(_inputs(*hw))
    assert main.shape == pre.shape == (2, 5, *hw)
    head.eval()
    metas = [dict(img_shape=(hw[0] * 8, hw[1] * 8), ori_shape=(hw[0] * 8, hw[1] * 8))] * 2
    out = head.predict(_inputs(*hw), metas, dict())
    assert out.shape == (2, 5, hw[0] * 8, hw[1] * 8)


@pytest.mark.parametrize('kw', [dict(pos_encoding='rope_identical'), dict(pos_encoding='none'),
                                dict(pos_encoding='sincos'), dict(pos_encoding='cpe'), dict(use_dct=False),
                                dict(dct_position='post_proj'), dict(key_source='global_mask'),
                                dict(use_semantic_masks=False), dict(center_norm='hard_mean'), dict(fusion_kernel=3),
                                dict(num_heads=2), dict(num_freqs=1), dict(block_size=14)])
def test_ablation_switches_run(kw):
    head = _head(**kw)
    main, pre = head(_inputs(15, 23))
    (main.sum() + pre.sum()).backward()
    assert main.shape == (2, 5, 15, 23)


def _vanilla(att, x):
    """Hand-written non-local attention (Eqs. 1-5) with the module's projection weights."""
    n, c, h, w = x.shape
    q = att.query_project(x).flatten(2).transpose(1, 2)  # (N, L, d)
    k = att.key_project(x).flatten(2).transpose(1, 2)
    v = att.value_project(x).flatten(2).transpose(1, 2)
    a = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(q.shape[-1]), dim=-1)
    z = (a @ v).transpose(1, 2).reshape(n, -1, h, w)
    return att.out_project(z)


def test_reduces_to_vanilla_attention():
    torch.manual_seed(0)
    att = SceneCouplingAttention(32, 16, use_dct=False, pos_encoding='none', norm_cfg=NORM).eval()
    x = torch.randn(2, 32, 9, 11)
    with torch.no_grad():
        assert torch.allclose(att(x, x, x), _vanilla(att, x), atol=1e-5)
    # the whole context module: masks off and one block covering the map -> fusion(cat[F, vanilla(F)])
    head = _head(use_dct=False, pos_encoding='none', use_semantic_masks=False, block_size=32).eval()
    ctx = head.context
    x = _inputs(9, 11)[3]
    with torch.no_grad():
        feats = ctx.bottleneck(x)
        ref = ctx.fusion(torch.cat([feats, _vanilla(ctx.attention, feats)], dim=1))
        assert torch.allclose(ctx(x)[0], ref, atol=1e-5)


def test_rope_breaks_class_key_symmetry_and_local_equals_global_coordinates():
    torch.manual_seed(0)
    att = SceneCouplingAttention(32, 16, use_dct=False, pos_encoding='rope+', norm_cfg=NORM).eval()
    k_const = torch.randn(1, 32, 1, 1).expand(1, 32, 6, 6)  # identical keys (one class centre) everywhere
    keys = att.key_project(k_const).flatten(2).transpose(1, 2)[:, None]
    rotated = att.rope(keys, (6, 6))
    assert torch.allclose(keys[..., 0, :], keys[..., 5, :]) and not torch.allclose(rotated[..., 0, :],
                                                                                   rotated[..., 5, :])
    # block-local vs global coordinates: a global offset of (dx, dy) leaves q.k unchanged
    q = torch.randn(36, 16, dtype=torch.float64)
    k = torch.randn(36, 16, dtype=torch.float64)
    rope = att.rope.double()
    ys, xs = torch.meshgrid(torch.arange(6), torch.arange(6), indexing='ij')
    xs, ys = xs.reshape(-1), ys.reshape(-1)

    def scores(ox, oy):
        phi = rope.angles(xs + ox, ys + oy)
        r = lambda t: rope.rotate(t, phi.cos(), phi.sin())  # noqa: E731
        return r(q) @ r(k).T

    assert torch.allclose(scores(0, 0), scores(43, 29), atol=1e-9)


def test_semantic_masks():
    head = _head(block_size=7).eval()
    ctx = head.context
    feats = torch.randn(1, 32, 14, 16)
    logits = torch.zeros(1, 5, 14, 16)
    logits[:, 2] = 3.0  # class 2 everywhere, spatially constant -> uniform softmax weights
    mg = ctx.smg(feats, logits)
    assert torch.allclose(mg, feats.mean((2, 3), keepdim=True).expand_as(mg), atol=1e-5)
    blocks = ctx.partition.split(feats)
    ml = ctx.smg(blocks, ctx.partition.split(logits))
    assert torch.allclose(ml, blocks.mean((2, 3), keepdim=True).expand_as(ml), atol=1e-5)
    # one block covering the map: M_l == M_g, so G+L and G+G give the same output
    gl = _head(block_size=32).eval()
    gg = _head(block_size=32, key_source='global_mask').eval()
    gg.load_state_dict(gl.state_dict())
    x = _inputs(9, 11)
    with torch.no_grad():
        assert torch.allclose(gl(x)[0], gg(x)[0], atol=1e-5)


def _segmentor(num_classes=6):
    backbone = dict(type='ResNetV1c', depth=18, stem_channels=16, base_channels=16, out_indices=(0, 1, 2, 3),
                    dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=NORM, contract_dilation=True)
    cfg = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0.0] * 3, std=[1.0] * 3, seg_pad_val=255),
        backbone=backbone,
        decode_head=dict(type='SCSMHead', in_channels=128, in_index=3, channels=32, transform_channels=16,
                         num_freqs=4, block_size=7, num_classes=num_classes, norm_cfg=NORM,
                         loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0, avg_non_ignore=True),
                         pre_loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.8, avg_non_ignore=True)),
        auxiliary_head=dict(type='FCNHead', in_channels=64, in_index=2, channels=16, num_convs=1,
                            concat_input=False, num_classes=num_classes, norm_cfg=NORM,
                            loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4, avg_non_ignore=True)),
        train_cfg=dict(), test_cfg=dict(mode='whole'))
    return MODELS.build(ConfigDict(cfg))


def test_loss_keys_and_toy_value():
    torch.manual_seed(0)
    k = 6
    model = _segmentor(k)
    img = torch.randn(2, 3, 64, 64)
    samples = _samples(2, 64, 64, k)
    losses = model.loss(img, samples)
    assert {'decode.loss_ce', 'decode.acc_seg', 'decode.pre.loss_ce', 'decode.pre.acc_seg',
            'aux.loss_ce'} <= set(losses)
    # all-zero logits on every head: L = (1 + 0.8 + 0.4) ln K (paper Sec. 4.4)
    for conv in (model.decode_head.conv_seg, model.decode_head.context.pre_cls[-1], model.auxiliary_head.conv_seg):
        torch.nn.init.zeros_(conv.weight)
        torch.nn.init.zeros_(conv.bias)
    losses = model.loss(img, samples)
    total = sum(v for n, v in losses.items() if 'loss' in n)
    assert torch.allclose(total, torch.tensor(2.2 * math.log(k)), atol=1e-4)
    # ignored pixels do not change the (per-valid-pixel averaged) loss
    for s in samples:
        s.gt_sem_seg.data[:, :8] = 255
    losses = model.loss(img, samples)
    assert torch.allclose(sum(v for n, v in losses.items() if 'loss' in n), total, atol=1e-4)


def test_gradient_flow_and_buffers():
    torch.manual_seed(0)
    head = _head()
    feats = _inputs(14, 14)
    samples = _samples(2, 112, 112, 5)
    losses = head.loss_by_feat(head(feats), samples)
    losses['loss_ce'].backward()  # the main loss alone
    pre_w = head.context.pre_cls[-1].weight.grad
    assert pre_w is not None and pre_w.abs().sum() > 0  # through the softmax centre weights
    assert all(not n.endswith('dct_filter') for n, _ in head.named_parameters())
    assert 'pre.loss_ce' in losses and abs(head.pre_loss_decode[0].loss_weight - 0.8) < 1e-9


def test_predict_and_determinism():
    model = _segmentor().eval()
    img = torch.randn(2, 3, 64, 48)
    with torch.no_grad():
        a = model.predict(img)
        b = model.predict(img)
    assert a[0].seg_logits.data.shape == (6, 64, 48)
    assert torch.equal(a[0].seg_logits.data, b[0].seg_logits.data)
    # same weights at another resolution (ROPE+ caches per block shape)
    with torch.no_grad():
        assert model._forward(torch.randn(1, 3, 128, 128))[0].shape == (1, 6, 16, 16)


def test_table7_complexity(repo_root, capsys, monkeypatch):
    """Table 7: the context module (SMG + SCA, bottleneck and fusion included) on 1x2048x128x128 has 2.4 M params /
    40.5 GFLOPs (MACs). With our reading (docs/methods/scsm.md: C=128, d=64, P=21, M=16, K=7, 1x1 fusion) we count
    2.445 M / 41.5 G (+1.9 % / +2.5 %); a 3x3 fusion would give ~2.71 M / ~45.8 G, outside the 5 % band."""
    argv = ['get_complexity.py', f'{repo_root}/configs/scsm/scsm_r50-d8_loveda.py', '--part', 'decode_head.context',
            '--input-shape', '1', '2048', '128', '128']
    monkeypatch.setattr(sys, 'argv', argv)
    runpy.run_path(f'{repo_root}/tools/analysis/get_complexity.py', run_name='__main__')
    out = capsys.readouterr().out
    params = float(re.search(r'params:\s+([\d.]+) M', out).group(1))
    flops = float(re.search(r'FLOPs:\s+([\d.]+) G', out).group(1))
    assert abs(params / 2.4 - 1) < 0.05, out
    assert abs(flops / 40.5 - 1) < 0.05, out

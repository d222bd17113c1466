"""The LOGCAN++ release (xwmaxwma/rssegmentation, RepViT backbone) -> tools/model_converters/logcanplus2mmseg.py ->
our model computes the release's outputs (release-compatible mode).

The release is re-built at tiny sizes by ``logcanplus_release_ref.py`` (written from its public code), given random
weights (offset/scale convs included), saved as its Lightning checkpoint (``state_dict`` under ``net.``), converted
with the tool and compared on square and non-square inputs, batch 1 and 2. At batch 2 the release mixes the two
images' class probabilities and global class centres (``repeat`` of a batch-major tensor); we do not, so batch 2 is
compared with the release run one image at a time (the corrected reference), and the test also shows that the
release's own batch-2 output differs from that.
"""
import importlib.util
import os.path as osp
import sys

import pytest
import torch
import torch.nn.functional as F

from conftest import REPO_ROOT

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from logcanplus_release_ref import TINY_CFGS, TINY_OUT, TINY_TIMM, MyModel, calibrate_bn_, randomise_  # noqa: E402

TOOL = osp.join(REPO_ROOT, 'tools', 'model_converters', 'logcanplus2mmseg.py')
BASE = osp.join(REPO_ROOT, 'configs', 'logcanplus', 'logcanplus_repvit-m2.3_vaihingen.py')
T, K, HEADS = 16, 3, 2
TINY_CFG = f"""_base_ = ['{BASE}']
model = dict(
    backbone=dict(embed_dims={TINY_TIMM['embed_dims']}, depths={TINY_TIMM['depths']}, init_cfg=None),
    decode_head=dict(in_channels={TINY_TIMM['embed_dims']}, channels={T}, num_heads={HEADS}, num_classes={K},
                     norm_cfg=dict(type='BN', requires_grad=True)))
"""
ATOL = RTOL = 1e-5


def tool():
    spec = importlib.util.spec_from_file_location('_conv_logcanplus2mmseg', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """(release module, our model loaded from the converted file, path of the tiny config, conversion report)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    tmp = tmp_path_factory.mktemp('logcanplus_release')
    torch.manual_seed(0)
    ref = randomise_(MyModel(TINY_CFGS, TINY_OUT, TINY_TIMM['embed_dims'], T, K, HEADS), seed=1)
    calibrate_bn_(ref, torch.randn(4, 3, 128, 128))
    src = str(tmp / 'logcanplus.ckpt')
    torch.save({'state_dict': {'net.' + k: v for k, v in ref.state_dict().items()}, 'epoch': 149,
                'global_step': 1}, src)
    cfg = tmp / 'tiny.py'
    cfg.write_text(TINY_CFG)
    dst = str(tmp / 'logcanplus.pth')
    import io
    from contextlib import redirect_stdout
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert tool().main([src, dst, '--config', str(cfg)]) == 0
    c = Config.fromfile(str(cfg))
    assert c.model.decode_head.release_compat is True
    with DefaultScope.overwrite_default_scope('mmseg'):
        ours = MODELS.build(c.model)
    ours.load_state_dict(torch.load(dst, weights_only=True)['state_dict'], strict=True)
    return ref, ours.eval(), str(cfg), buf.getvalue()


def ours_out(model, x):
    """Our main logits at input size (what EncoderDecoder predicts from) and the pre-classification logits
    upsampled x32 like the release's ``Interpolate``."""
    with torch.no_grad():
        seg, pre = model.decode_head(list(model.backbone(x)))
        main = model.encode_decode(x, [dict(img_shape=x.shape[-2:])] * x.shape[0])
    torch.testing.assert_close(main, F.interpolate(seg, scale_factor=4, mode='bilinear'), rtol=1e-6, atol=1e-6)
    return main, F.interpolate(pre, scale_factor=32, mode='bilinear')


def release_per_image(ref, x):
    with torch.no_grad():
        outs = [ref(x[i:i + 1]) for i in range(x.shape[0])]
    return [torch.cat([o[j] for o in outs]) for j in range(2)]


def test_every_key_converts(converted):
    report = converted[3]
    assert 'source keys not used (0)' in report and 'target keys left unset (0)' in report
    assert 'shape mismatches (0)' in report


@pytest.mark.parametrize('hw', [(128, 128), (128, 256)], ids=['square', 'non-square'])
@pytest.mark.parametrize('batch', [1, 2])
def test_outputs_equal_the_release(converted, hw, batch):
    ref, ours, _, _ = converted
    torch.manual_seed(batch)
    x = torch.randn(batch, 3, *hw)
    main, pre = ours_out(ours, x)
    exp_main, exp_pre = release_per_image(ref, x)
    scale = exp_main.abs().max().item()
    assert scale > 1e-2  # a comparison of non-trivial logits
    torch.testing.assert_close(main, exp_main, rtol=RTOL, atol=ATOL * max(scale, 1.0))
    torch.testing.assert_close(pre, exp_pre, rtol=RTOL, atol=ATOL * max(scale, 1.0))
    if batch == 1:
        with torch.no_grad():
            torch.testing.assert_close(main, ref(x)[0], rtol=RTOL, atol=ATOL * max(scale, 1.0))
    else:  # the release's own batch path differs: its class centres mix the two images
        with torch.no_grad():
            mixed = ref(x)[0]
        assert (mixed - exp_main).abs().max() > 1e-3


def test_wrong_geometry_or_pairing_fails(converted):
    """Our own window geometry (pixel-space rotation, offsets in window units, no re-pairing) or the timm stage
    taps instead of the release's pre-stride-2 taps give other outputs: the comparison above can fail."""
    ref, ours, _, _ = converted
    x = torch.randn(1, 3, 128, 256)
    with torch.no_grad():
        exp = ref(x)[0]
        for lca in ours.decode_head.lcas:
            lca.release_compat = False
        wrong_geometry = ours_out(ours, x)[0]
        for lca in ours.decode_head.lcas:
            lca.release_compat = True
        ours.backbone.out_before_downsample = False  # timm's stage ends: one block earlier, same widths
        try:
            wrong_taps = ours_out(ours, x)[0]
        finally:
            ours.backbone.out_before_downsample = True
        torch.testing.assert_close(ours_out(ours, x)[0], exp, rtol=RTOL, atol=ATOL * max(exp.abs().max().item(), 1))
    assert (wrong_geometry - exp).abs().max() > 1e-2
    assert (wrong_taps - exp).abs().max() > 1e-2


def test_square_geometry_only_differs_on_non_square_maps():
    """The release rotates in normalised coordinates: on square maps that is our pixel rotation, on non-square
    maps it is not (documented difference of the two modes' grids with the same predicted angles)."""
    from rsseg_ext.models.decode_heads.logcanplus_head import LocalClassAttention
    torch.manual_seed(0)
    ours = LocalClassAttention(16, 3, num_heads=2).eval()
    rel = LocalClassAttention(16, 3, num_heads=2, release_compat=True).eval()
    rel.load_state_dict(ours.state_dict())
    for m in (ours, rel):  # zero offset and scale (their initialisation): only the rotation is left
        torch.nn.init.zeros_(m.sampling_offsets[1].weight)
        torch.nn.init.zeros_(m.sampling_offsets[1].bias)
        torch.nn.init.zeros_(m.sampling_scales[1].weight)
        torch.nn.init.zeros_(m.sampling_scales[1].bias)
    torch.nn.init.normal_(ours.sampling_angles[1].bias)
    rel.sampling_angles[1].bias.data.copy_(ours.sampling_angles[1].bias)
    pooled = torch.randn(1, 16, 4, 4)
    torch.testing.assert_close(ours._sampling_grid(pooled, 16, 16), rel._sampling_grid(pooled, 16, 16))
    assert (ours._sampling_grid(pooled, 16, 32) - rel._sampling_grid(pooled, 16, 32)).abs().max() > 1e-2


def test_backbone_reads_the_repvit_authors_file(tmp_path):
    """init_cfg LocalPretrained with the RepViT authors' layout (``model`` container, ``features.*``, classifier)."""
    from rsseg_ext.models.backbones import RepViT
    from logcanplus_release_ref import RepViTRelease
    ref = randomise_(RepViTRelease(TINY_CFGS, TINY_OUT), seed=3)
    sd = dict(ref.state_dict())
    sd['classifier.classifier.l.weight'] = torch.randn(10, 64)
    path = tmp_path / 'repvit.pth'
    torch.save({'model': sd}, str(path))
    ours = RepViT(**TINY_TIMM, init_cfg=dict(type='LocalPretrained', checkpoint=str(path)))
    ours.init_weights()
    ours.eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        for a, b in zip(ours(x), ref(x)):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5 * max(b.abs().max().item(), 1.0))
    missing = RepViT(**TINY_TIMM, init_cfg=dict(type='LocalPretrained', checkpoint=str(tmp_path / 'nope.pth')))
    with pytest.raises(Exception, match='nope.pth'):
        missing.init_weights()


def test_full_size_release_converts_with_the_default_config(tmp_path, capsys):
    """The released network itself (RepViT-M2.3, T=96, 8 heads, 6 classes): no --config, the converter detects the
    RepViT layout, checks against configs/logcanplus/logcanplus_repvit-m2.3_vaihingen.py in release mode, and the
    converted model gives the release's logits (128 px, batch 1). Compared in float64: with random weights the
    full-size network's activations reach ~200 and float32 rounding alone moves logits of ~90 by up to 7e-3
    (the tiny models above agree in float32); in float64 the two agree to ~1e-10."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from logcanplus_release_ref import M2_3_CFGS, M2_3_OUT
    from mmseg.registry import MODELS
    from rsseg_ext.engine.dist_utils import sync_bn_to_bn
    torch.manual_seed(0)
    ref = randomise_(MyModel(M2_3_CFGS, M2_3_OUT, [80, 160, 320, 640], 96, 6, 8), seed=5)
    calibrate_bn_(ref, torch.randn(2, 3, 128, 128))
    src, dst = str(tmp_path / 'release.ckpt'), str(tmp_path / 'converted.pth')
    torch.save({'state_dict': {'net.' + k: v for k, v in ref.state_dict().items()}}, src)
    assert tool().main([src, dst]) == 0
    report = capsys.readouterr().out
    assert 'source keys not used (0)' in report and 'target keys left unset (0)' in report
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['cfg_options'] == {'model.decode_head.release_compat': True}
    cfg = Config.fromfile(BASE)
    cfg.model.backbone.init_cfg = None
    sync_bn_to_bn(cfg.model)
    with DefaultScope.overwrite_default_scope('mmseg'):
        ours = MODELS.build(cfg.model)
    ours.load_state_dict(ckpt['state_dict'], strict=True)
    ours.eval().double()
    ref.double()
    x = torch.randn(1, 3, 128, 128, dtype=torch.float64)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # the release builds its sampling grids in the default dtype
    try:
        main, _ = ours_out(ours, x)
        with torch.no_grad():
            exp = ref(x)[0]
    finally:
        torch.set_default_dtype(default)
    torch.testing.assert_close(main, exp, rtol=RTOL, atol=ATOL * max(exp.abs().max().item(), 1.0))
    assert (main - exp).abs().max() < 1e-8

"""The D2LS release (XavierJiezou/D2LS) -> tools/model_converters/d2ls2mmseg.py -> our model computes the release's
outputs, for the dictionary model and the release's ``last_line`` variant; the release-loss config gives the
release's training loss.

The release is re-built at tiny sizes by ``d2ls_release_ref.py`` (written from its public code) on a torchvision
ConvNeXt, given random weights, saved as its Lightning checkpoint (``state_dict`` under ``net.``), converted with
the tool and compared on square and non-square inputs, batch 1 and 2.
"""
import io
import os.path as osp
import sys
from contextlib import redirect_stdout

import pytest
import torch

from conftest import REPO_ROOT

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from d2ls_release_ref import DynamicDictionaryLearning, randomise_, unetformer_loss  # noqa: E402
from test_model_converters import CH, DEPTHS, TINY_D2LS, tool  # noqa: E402

C, N, R, L, HEADS = 32, 3, 2, 2, 2
ATOL = RTOL = 1e-5


def _tv_convnext():
    tvc = pytest.importorskip('torchvision.models.convnext')
    cfgs = [tvc.CNBlockConfig(c, CH[i + 1] if i < 3 else None, d) for i, (c, d) in enumerate(zip(CH, DEPTHS))]
    return tvc.ConvNeXt(cfgs, stochastic_depth_prob=0.0, num_classes=5)


def _convert(tmp, last_line: bool):
    """(release module, our model from the converted file, converter report)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    ref = DynamicDictionaryLearning(_tv_convnext(), CH, N, l=L, dim=C, r=R, heads=HEADS, last_line=last_line)
    ref = randomise_(ref, seed=4 + last_line)
    src = str(tmp / 'd2ls.ckpt')
    torch.save({'state_dict': {'net.' + k: v for k, v in ref.state_dict().items()}, 'epoch': 29}, src)
    cfg = tmp / 'tiny_d2ls.py'
    cfg.write_text(TINY_D2LS.format(base=osp.join(REPO_ROOT, 'configs', 'd2ls', 'd2ls_convnext_loveda.py')))
    dst = str(tmp / 'd2ls.pth')
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert tool('d2ls2mmseg').main([src, dst, '--config', str(cfg)]) == 0
    c = Config.fromfile(str(cfg))
    if last_line:  # what the converter's report tells the user to pass
        assert 'model.decode_head.last_line=True' in buf.getvalue()
        c.merge_from_dict({'model.decode_head.last_line': True})
    with DefaultScope.overwrite_default_scope('mmseg'):
        ours = MODELS.build(c.model)
    ours.load_state_dict(torch.load(dst, weights_only=True)['state_dict'], strict=True)
    return ref, ours.eval(), buf.getvalue()


@pytest.fixture(scope='module', params=[False, True], ids=['dictionary', 'last_line'])
def converted(request, tmp_path_factory):
    return _convert(tmp_path_factory.mktemp('d2ls_release'), request.param)


def ours_logits(model, x):
    with torch.no_grad():
        return model.encode_decode(x, [dict(img_shape=x.shape[-2:])] * x.shape[0])


def test_every_key_converts(converted):
    report = converted[2]
    assert 'source keys not used (0)' in report and 'target keys left unset (0)' in report
    assert 'shape mismatches (0)' in report


@pytest.mark.parametrize('hw', [(64, 64), (64, 96)], ids=['square', 'non-square'])
@pytest.mark.parametrize('batch', [1, 2])
def test_outputs_equal_the_release(converted, hw, batch):
    ref, ours, _ = converted
    torch.manual_seed(batch)
    x = torch.randn(batch, 3, *hw)
    with torch.no_grad():
        exp = ref(x)
    got = ours_logits(ours, x)
    assert got.shape == exp.shape == (batch, N, *hw)
    scale = exp.abs().max().item()
    assert scale > 1e-2
    torch.testing.assert_close(got, exp, rtol=RTOL, atol=ATOL * max(scale, 1.0))


def test_wrong_pairing_fails(converted):
    """The paper's GAP/GMP assignment (swapped halves) or a shallowest-first concatenation in the aggregator give
    other logits: the comparison above can fail."""
    ref, ours, _ = converted
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        exp = ref(x)
        fuse = ours.decode_head.aggregator.fuse.weight
        saved = fuse.clone()
        fuse.copy_(torch.cat(saved.chunk(4, dim=1)[::-1], dim=1))  # levels 1..4 instead of 4..1
        wrong_concat = ours_logits(ours, x)
        fuse.copy_(saved)
        mod = ours.decode_head.modulator
        if mod is not None:
            mw, aw = mod.max_fc.weight.clone(), mod.avg_fc.weight.clone()
            mod.max_fc.weight.copy_(aw)
            mod.avg_fc.weight.copy_(mw)
            wrong_halves = ours_logits(ours, x)
            mod.max_fc.weight.copy_(mw)
            mod.avg_fc.weight.copy_(aw)
            assert (wrong_halves - exp).abs().max() > 1e-3
        torch.testing.assert_close(ours_logits(ours, x), exp, rtol=RTOL, atol=ATOL * max(exp.abs().max().item(), 1))
    assert (wrong_concat - exp).abs().max() > 1e-3


def test_release_loss_config_gives_the_release_loss():
    """configs/d2ls/d2ls_convnext_loveda_release-loss.py: our loss terms sum to GeoSeg's UnetFormerLoss on the same
    dynamic / static logits (no contrastive term, no Dice on the static branch); the paper config does not."""
    from mmengine.config import Config
    from mmengine.structures import PixelData

    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    torch.manual_seed(0)
    target = torch.randint(0, N, (2, 64, 96))
    target[:, :5] = 255
    samples = []
    for t in target:
        s = SegDataSample(gt_sem_seg=PixelData(data=t[None]))
        s.set_metainfo(dict(img_shape=(64, 96)))
        samples.append(s)
    logits = (torch.randn(2, N, 64, 96) * 3, torch.randn(2, N, 64, 96) * 3)  # dynamic, static
    expected = unetformer_loss(logits[0], logits[1], target)
    totals = {}
    for name in ('d2ls_convnext_loveda_release-loss.py', 'd2ls_convnext_loveda.py'):
        head_cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'd2ls', name)).model.decode_head
        head_cfg.update(in_channels=list(CH), channels=C, num_classes=N, num_heads=HEADS, query_ratio=R)
        head_cfg.loss_contrast = head_cfg.loss_contrast and dict(head_cfg.loss_contrast, gather_across_gpus=False)
        head = MODELS.build(head_cfg)
        losses = head.loss_by_feat(logits, samples)  # the segmentation terms; the contrastive one is in head.loss
        assert (head.loss_contrast is None) == name.startswith('d2ls_convnext_loveda_release')
        totals[name] = sum(v for k, v in losses.items() if 'loss' in k)  # mmengine's parse_losses rule
        if name.startswith('d2ls_convnext_loveda_release'):
            assert set(k for k in losses if 'loss' in k) == {'loss_ce', 'loss_dice', 'static.loss_ce_static'}
    torch.testing.assert_close(totals['d2ls_convnext_loveda_release-loss.py'], expected, rtol=1e-6, atol=1e-6)
    assert (totals['d2ls_convnext_loveda.py'] - expected).abs() > 1e-3

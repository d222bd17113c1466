"""D2LSHead: CPU sanity checks at tiny widths (paper Eqs. 9-16), ablation switches, loss keys and the
parameter/FLOP calibration of the full-size head."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData

import rsseg_ext  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from rsseg_ext.models.decode_heads.d2ls_head import D2LSHead, PixelShuffleUpsampler
from rsseg_ext.models.utils import CrossAttention, RandomFourierPE
from rsseg_ext.utils.complexity import count_flops, count_params
from conftest import one_torch_thread

IN_CH = (8, 16, 32, 64)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors gain nothing from intra-op threads, and on a busy 2-core machine OpenMP barriers made these
    tests 20x slower (a descheduled worker thread stalls every op)."""
    with one_torch_thread():
        yield


def tiny_head(**kw) -> D2LSHead:
    cfg = dict(type='D2LSHead', in_channels=IN_CH, channels=32, num_classes=3, query_ratio=4, num_stages=2,
               num_heads=2)
    cfg.update(kw)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def feats(b=2, size=64, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, c, size // s, size // s, generator=g) for c, s in zip(IN_CH, (4, 8, 16, 32))]


def samples(b=2, n=3, size=64):
    out = []
    for i in range(b):
        s = SegDataSample()
        lab = torch.randint(0, n, (1, size, size), generator=torch.Generator().manual_seed(i))
        lab[:, :5] = 255
        s.gt_sem_seg = PixelData(data=lab)
        s.set_metainfo(dict(img_shape=(size, size), pad_shape=(size, size), ori_shape=(size, size)))
        out.append(s)
    return out


def test_shapes():
    head = tiny_head().eval()
    x = feats()
    f = head._transform_inputs(x)
    e0 = head.aggregator(f)
    assert e0.shape == (2, 32, 16, 16)
    assert head.pe(e0.shape[-2:]).shape == (1, 32, 16, 16)
    a = head.modulator(f[-1])
    assert a.shape == (2, 3, 4)
    d0, _ = head.dynamic_dictionary(f[-1])
    assert d0.shape == (2, 3, 32)
    assert head.upsampler(e0).shape == (2, 2, 64, 64)
    with torch.no_grad():
        out = head(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 3, 64, 64)
    head.train()
    dyn, sta = head(x)  # logits only, a tuple in training (mmseg's multi-output idiom)
    assert dyn.shape == sta.shape == (2, 3, 64, 64)
    (dyn2, _), d = head._forward(x, with_static=True)
    assert d.shape == (2, 3, 32) and torch.equal(dyn2, dyn)
    out = tiny_head(use_static_branch=False).train()(x)
    assert isinstance(out, tuple) and len(out) == 1 and out[0].shape == (2, 3, 64, 64)


def test_modulator_weights_and_einsum_match_grouped_conv():
    head = tiny_head()
    f4 = feats()[-1]
    a = head.modulator(f4)
    assert torch.all(a > 0)
    torch.testing.assert_close(a.sum(-1), torch.ones(2, 3))
    d0, a2 = head.dynamic_dictionary(f4)
    m = head.token_mlp(head.static_dict.weight)  # (N, r*C)
    n, r = 3, 4
    # the released code's per-image grouped conv1d
    ref = torch.stack([
        F.conv1d(m.reshape(1, n * r, -1), a2[b].reshape(n, r, 1), groups=n)[0] for b in range(2)])
    torch.testing.assert_close(d0, ref, atol=1e-6, rtol=0)
    # convex hull (§10.3): D0 = A . M exactly
    torch.testing.assert_close(d0, torch.einsum('bnr,nrc->bnc', a2, m.reshape(n, r, -1)))


def test_r1_dictionary_is_token_mlp_of_static():
    head = tiny_head(query_ratio=1)
    d0, _ = head.dynamic_dictionary(feats()[-1])
    ref = head.token_mlp(head.static_dict.weight)
    torch.testing.assert_close(d0, ref.unsqueeze(0).expand(2, -1, -1))


def test_cross_attention_reduces_to_eq15():
    torch.manual_seed(0)
    attn = CrossAttention(8, num_heads=1, downsample_rate=1)
    with torch.no_grad():
        for lin in (attn.q_proj, attn.k_proj, attn.v_proj, attn.out_proj):
            lin.weight.copy_(torch.eye(8))
            lin.bias.zero_()
    d, e = torch.randn(2, 3, 8), torch.randn(2, 20, 8)
    d1 = torch.softmax(d @ e.transpose(1, 2) / math.sqrt(8), -1) @ e
    torch.testing.assert_close(attn(d, e, e), d1, atol=1e-5, rtol=1e-5)
    e1 = torch.softmax(e @ d1.transpose(1, 2) / math.sqrt(8), -1) @ d1
    torch.testing.assert_close(attn(e, d1, d1), e1, atol=1e-5, rtol=1e-5)


def test_token_permutation_equivariance():
    head = tiny_head().eval()
    perm = torch.tensor([2, 0, 1])
    head2 = copy.deepcopy(head)
    with torch.no_grad():
        head2.static_dict.weight.copy_(head.static_dict.weight[perm])
        w = head.modulator.fc2.weight.reshape(3, 4, -1)[perm].reshape(12, -1)
        head2.modulator.fc2.weight.copy_(w)
        head2.modulator.fc2.bias.copy_(head.modulator.fc2.bias.reshape(3, 4)[perm].reshape(12))
        x = feats()
        torch.testing.assert_close(head2(x), head(x)[:, perm], atol=1e-5, rtol=1e-5)


def test_no_interaction_switch():
    head = tiny_head(use_interactor=False).eval()
    assert head.interactor is None
    x = feats()
    with torch.no_grad():
        f = head._transform_inputs(x)
        d0, _ = head.dynamic_dictionary(f[-1])
        ref = torch.einsum('bnc,bchw->bnhw', head.hyper_mlp(d0), head.upsampler(head.aggregator(f)))
        torch.testing.assert_close(head(x), ref)


def test_no_aggregator_switch():
    head = tiny_head(use_aggregator=False)
    assert head.aggregator.fuse is None and len(head.aggregator.projs) == 1
    f = feats()
    ref = F.interpolate(head.aggregator.projs[0](f[-1]), size=(16, 16), mode='bilinear', align_corners=False)
    torch.testing.assert_close(head.aggregator(f), ref)


def test_static_mode_has_no_modulator_and_ignores_it():
    full, static = tiny_head(), tiny_head(dict_mode='static')
    assert static.modulator is None and static.token_mlp is None
    assert static.loss_contrast is None and not static.use_static_branch
    assert tiny_head(use_modulator=False).dict_mode == 'static'
    n_full, n_static = count_params(full)[0], count_params(static)[0]
    assert n_static == n_full - sum(p.numel() for p in full.modulator.parameters()) - sum(
        p.numel() for p in full.token_mlp.parameters())
    static.eval()
    d0, _ = static.dynamic_dictionary(feats()[-1])
    torch.testing.assert_close(d0, static.static_dict.weight.unsqueeze(0).expand(2, -1, -1))


@pytest.mark.parametrize('stages', [1, 2, 3, 4])
def test_num_stages_changes_architecture(stages):
    head = tiny_head(num_stages=stages)
    assert len(head.interactor.blocks) == stages
    assert count_params(head)[0] - count_params(tiny_head(num_stages=1))[0] == (stages - 1) * sum(
        p.numel() for p in head.interactor.blocks[0].parameters())


def test_uniform_mode_and_num_tokens():
    head = tiny_head(dict_mode='uniform')
    assert head.modulator is None and head.loss_contrast is None and head.use_static_branch
    m = head.token_mlp(head.static_dict.weight).reshape(3, 4, -1).mean(1)
    torch.testing.assert_close(head.dynamic_dictionary(feats()[-1])[0][0], m)
    head = tiny_head(num_tokens=5).eval()
    assert head.token_to_class is not None
    with torch.no_grad():
        assert head(feats()).shape == (2, 3, 64, 64)


def test_positional_encoding():
    pe = RandomFourierPE(32)
    p = pe((5, 7))
    assert p.shape == (1, 32, 5, 7) and p.abs().max() <= 1
    torch.testing.assert_close(p[0, :16] ** 2 + p[0, 16:] ** 2, torch.ones(16, 5, 7))
    assert 'gaussian_matrix' in pe.state_dict() and not list(pe.parameters())
    torch.testing.assert_close(pe((5, 7)), p)
    one = pe((1, 1))[0, :, 0, 0]
    torch.testing.assert_close(one, torch.cat([torch.zeros(16), torch.ones(16)]), atol=1e-6, rtol=0)


def test_pixel_shuffle_upsampler():
    up = PixelShuffleUpsampler(32)
    assert count_params(up)[0] == 2 * 8
    assert up(torch.randn(1, 32, 4, 5)).shape == (1, 2, 16, 20)
    with pytest.raises(ValueError):
        PixelShuffleUpsampler(40)


def test_loss_keys_and_every_parameter_gets_gradient():
    head = tiny_head().train()
    losses = head.loss(feats(), samples(), train_cfg=dict())
    assert set(losses) == {'loss_ce', 'loss_dice', 'static.loss_ce_static', 'static.loss_dice_static',
                           'loss_dict_con', 'acc_seg', 'static.acc_seg'}
    assert losses['loss_dict_con'] > 0
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    missing = [n for n, p in head.named_parameters() if p.grad is None]
    assert not missing, missing
    # [C]'s loss variant: static branch with CE only; no contrastive loss
    head = tiny_head(loss_static=dict(type='SoftCrossEntropyLoss', loss_weight=0.4, loss_name='loss_ce_static'),
                     loss_contrast=None)
    assert set(head.loss(feats(), samples(), dict())) == {'loss_ce', 'loss_dice', 'static.loss_ce_static',
                                                          'acc_seg', 'static.acc_seg'}
    for off in (dict(use_static_branch=False), dict(loss_static=None)):
        head = tiny_head(**off)
        assert not head.use_static_branch and head.loss_static is None
        assert set(head.loss(feats(), samples(), dict())) == {'loss_ce', 'loss_dice', 'loss_dict_con', 'acc_seg'}


def test_eval_path_runs_dynamic_branch_only():
    head = tiny_head()
    calls = []
    orig = head.decode
    head.decode = lambda *a: calls.append(1) or orig(*a)
    head.train()
    head(feats())
    assert len(calls) == 2
    calls.clear()
    head.eval()
    with torch.no_grad():
        out = head(feats())
        pred = head.predict(feats(), [dict(img_shape=(64, 64))] * 2, dict())
    assert len(calls) == 2  # one per call: forward and predict
    torch.testing.assert_close(out, pred)
    no_static = tiny_head(use_static_branch=False).eval()
    with torch.no_grad():
        torch.testing.assert_close(no_static(feats()), out)


def test_predict_in_train_mode_is_dynamic_only():
    head = tiny_head().train()
    out = head.predict(feats(), [dict(img_shape=(64, 64))] * 2, dict())
    assert out.shape == (2, 3, 64, 64)


def test_legacy_sam_blocks_add_unused_modules():
    head = tiny_head(legacy_sam_blocks=True)
    assert hasattr(head.interactor.blocks[0], 'mlp')
    head.eval()
    ref = tiny_head().eval()
    ref.load_state_dict(head.state_dict(), strict=False)
    with torch.no_grad():
        torch.testing.assert_close(head(feats()), ref(feats()))


def _full_head(stages, legacy=False):
    return MODELS.build(dict(type='D2LSHead', num_classes=7, num_stages=stages, legacy_sam_blocks=legacy))


@pytest.mark.parametrize('stages,legacy,params,gmacs', [
    (3, False, 2_522_412, 13.1),  # docs/methods/d2ls.md: the real L = 3 model, unused SAM modules omitted
    (1, True, 3_308_588, 8.7),  # docs/methods/d2ls.md: = Table 10's 3.3 M (L = 1, modules as in the released code)
])
def test_calibration_params_and_flops_512(stages, legacy, params, gmacs):
    head = _full_head(stages, legacy)
    n = count_params(head)[0]
    assert abs(n - params) / params < 0.02, n
    assert n == params  # in fact exact
    x = [torch.zeros(1, c, 512 // s, 512 // s) for c, s in zip((128, 256, 512, 1024), (4, 8, 16, 32))]
    flops = count_flops(head, (x, )) / 1e9
    assert abs(flops - gmacs) / gmacs < 0.02, flops


def test_extra_stage_params():
    assert count_params(_full_head(2))[0] - count_params(_full_head(1))[0] == 264_448


class _TinyBackbone(torch.nn.Module):
    """4 strided conv stages: strides 4/8/16/32, channels IN_CH (a tiny stand-in for ConvNeXt)."""

    def __init__(self):
        super().__init__()
        chans = (3, ) + IN_CH
        self.stages = torch.nn.ModuleList(
            torch.nn.Sequential(torch.nn.Conv2d(chans[i], chans[i + 1], 4 if i == 0 else 2, 4 if i == 0 else 2),
                                torch.nn.GELU()) for i in range(4))

    def forward(self, x):
        outs = []
        for s in self.stages:
            x = s(x)
            outs.append(x)
        return outs


@pytest.mark.parametrize('use_interactor', [True, False])
def test_overfits_a_tiny_synthetic_set(use_interactor):
    """Both the full head and the no-interaction path learn (§10.16, shortened to 50 Adam steps).

    C' = 64 here: at C' = 32 the mask embedding has C'/16 = 2 dimensions, too few to separate 3 classes well."""
    torch.manual_seed(0)
    y = torch.zeros(4, 64, 64, dtype=torch.long)
    y[:, :32, 32:] = 1
    y[:, 32:, :] = 2
    y[1, :, :20] = 1  # per-image variation
    x = torch.stack([torch.eye(3)[y[i]].permute(2, 0, 1) for i in range(4)]) + 0.1 * torch.randn(4, 3, 64, 64)
    bb, head = _TinyBackbone(), tiny_head(use_interactor=use_interactor, channels=64)
    opt = torch.optim.Adam(list(bb.parameters()) + list(head.parameters()), lr=3e-3)
    data = samples(4)
    for i, s in enumerate(data):
        s.gt_sem_seg = PixelData(data=y[i:i + 1])
    losses_seen = []
    for _ in range(50):
        losses = head.loss(bb(x), data, dict())
        loss = sum(v for k, v in losses.items() if 'loss' in k and k != 'loss_dict_con')  # mmengine's rule
        opt.zero_grad()
        (loss + losses['loss_dict_con']).backward()
        opt.step()
        losses_seen.append(loss.item())
    assert losses_seen[-1] < losses_seen[0] / 3, losses_seen[::10]  # CE with label smoothing floors at ~0.2
    head.eval()
    with torch.no_grad():
        acc = (head(bb(x)).argmax(1) == y).float().mean().item()
    assert acc > 0.95

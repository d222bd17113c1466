"""FCtL building blocks (FCtL paper Secs. 3.3-3.4) on CPU: LCC/GPE, MCF, LFI, ALE, the
box crop and the fusion neck."""
import pytest
import torch
import torch.nn.functional as F

import rsseg_ext  # noqa: F401
from rsseg_ext.models.necks.lcf_ale_fusion import LCFALEFusion
from rsseg_ext.models.utils.ale import AlternatingLocalEnhancement, crop_resize
from rsseg_ext.models.utils.lcc import LocalityAwareContextCorrelation
from rsseg_ext.models.utils.lfi import LocalFeatureInteraction
from rsseg_ext.models.utils.mcf import MultiContextFusion
from conftest import one_torch_thread

C, H, W, B = 32, 8, 8, 2


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    with one_torch_thread():
        yield


def _x(*shape):
    return torch.randn(*shape)


# ---- LCC / GPE (checks 5, 7, 8) -----------------------------------------------------------------------------------
@pytest.mark.parametrize('use_gpe', [False, True])
@pytest.mark.parametrize('pos_mode', ['grid', 'geometric'])
def test_lcc_shapes_and_rows_sum_to_one(use_gpe, pos_mode):
    lcc = LocalityAwareContextCorrelation(C, key_channels=16, use_gpe=use_gpe, gpe_pos_mode=pos_mode,
                                          zero_init_gamma=False)
    xl, xu = _x(B, C, H, W), _x(B, C, H, W) * 5
    box = torch.tensor([[1 / 3, 1 / 3, 2 / 3, 2 / 3], [0.1, 0.2, 0.4, 0.5]])
    attn = lcc.attention(xl, xu, box)
    assert attn.shape == (B, H * W, H * W)
    torch.testing.assert_close(attn.sum(-1), torch.ones(B, H * W), atol=1e-5, rtol=0)
    assert (attn >= 0).all()
    assert lcc(xl, xu, box).shape == (B, C, H, W)


def test_lcc_gamma_zero_init_gives_zero_output():
    lcc = LocalityAwareContextCorrelation(C, key_channels=16)
    assert lcc.gamma.item() == 0.0
    assert torch.count_nonzero(lcc(_x(B, C, H, W), _x(B, C, H, W))) == 0


def test_gpe_gate_limits():
    lcc = LocalityAwareContextCorrelation(C, key_channels=16, use_gpe=True, zero_init_gamma=False)
    plain = LocalityAwareContextCorrelation(C, key_channels=16, use_gpe=False, zero_init_gamma=False)
    plain.load_state_dict({k: v for k, v in lcc.state_dict().items() if not k.startswith('gpe.')})
    xl, xu = _x(B, C, H, W), _x(B, C, H, W)
    with torch.no_grad():
        lcc.gpe.gate.fill_(30.0)  # sigmoid(30) = 1 in fp32: pure content attention
    torch.testing.assert_close(lcc(xl, xu), plain(xl, xu))
    with torch.no_grad():
        lcc.gpe.gate.fill_(-30.0)  # pure positional attention: A independent of the context's content
    a1 = lcc.attention(xl, xu)
    a2 = lcc.attention(xl, _x(B, C, H, W) * 10)
    torch.testing.assert_close(a1, a2, atol=1e-6, rtol=0)
    assert not torch.allclose(lcc(xl, xu), lcc(xl, xu + 1.0))  # the output still changes through V
    with torch.no_grad():
        lcc.gpe.v_pos.copy_(torch.tensor([-100.0, 0.0, 0.0]))
    a = lcc.attention(xl, xl)  # self branch, grid mode: one-hot on the diagonal
    torch.testing.assert_close(a[0], torch.eye(H * W), atol=1e-6, rtol=0)


def test_permutation_invariance_without_gpe_only():
    lcc = LocalityAwareContextCorrelation(C, key_channels=16, use_gpe=False, zero_init_gamma=False)
    xl, xu = _x(B, C, H, W), _x(B, C, H, W)
    perm = torch.randperm(H * W)
    xu_p = xu.flatten(2)[:, :, perm].view(B, C, H, W)
    torch.testing.assert_close(lcc(xl, xu), lcc(xl, xu_p), atol=1e-5, rtol=1e-5)
    gpe = LocalityAwareContextCorrelation(C, key_channels=16, use_gpe=True, zero_init_gamma=False)
    assert not torch.allclose(gpe(xl, xu), gpe(xl, xu_p), atol=1e-5)


def test_gpe_geometric_maps_context_into_patch_grid():
    lcc = LocalityAwareContextCorrelation(C, use_gpe=True, gpe_pos_mode='geometric')
    # a centred lambda=2 context on the same 8x8 grid: key pixel (u=4, v=4) sits at patch coordinate (4.5*2-4)-0.5
    r = lcc.gpe.relative_positions(H, W, H, W, torch.tensor([[0.25, 0.25, 0.75, 0.75]]))
    assert r.shape == (1, H * W, H * W, 3)
    key = 4 * W + 4
    assert r[0, 0, key, 1].item() == pytest.approx(((4.5 / 8 - 0.25) / 0.5) * 8 - 0.5)


# ---- MCF (check 9) ------------------------------------------------------------------------------------------------
def test_mcf_weights_sum_to_one_and_are_bounded():
    mcf = MultiContextFusion(C, 3)
    with torch.no_grad():  # large weights push the sigmoid to its ends
        for m in mcf.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.normal_(0, 1.0)
    feats = [_x(B, C, H, W) * 10 for _ in range(3)]
    out, w = mcf(feats)
    assert out.shape == (B, C, H, W) and w.shape == (B, 3, C, H, W)
    torch.testing.assert_close(w.sum(1), torch.ones(B, C, H, W))
    lo, hi = 1 / (1 + 2 * torch.e), torch.e / (torch.e + 2)
    assert w.min() >= lo - 1e-6 and w.max() <= hi + 1e-6
    assert w.min() < lo + 0.01 and w.max() > hi - 0.01  # the bounds are reached, not just respected
    torch.testing.assert_close(out, (w * torch.stack(feats, 1)).sum(1))


def test_mcf_average_and_weighted_modes():
    feats = [_x(B, C, H, W) for _ in range(3)]
    out, _ = MultiContextFusion(C, 3, mode='average')(feats)
    assert torch.equal(out, torch.stack(feats, 1).mean(1))
    mcf = MultiContextFusion(C, 3, mode='weighted')
    with torch.no_grad():
        mcf.branch_logits.copy_(torch.tensor([0.5, -1.0, 2.0]))
    w1 = mcf.fusion_weights(feats)
    w2 = mcf.fusion_weights([f * 7 + 3 for f in feats])
    assert torch.equal(w1, w2)  # input-independent
    torch.testing.assert_close(w1[0, :, 0, 0, 0], torch.tensor([0.5, -1.0, 2.0]).softmax(0))
    # paper-literal variant: no sigmoid, weights not bounded away from 0/1
    lit = MultiContextFusion(C, 3, sigmoid_before_softmax=False, squeeze_ratio=4)
    assert lit(feats)[1].sum(1).sub(1).abs().max() < 1e-5


# ---- LFI (check 10) -----------------------------------------------------------------------------------------------
def test_lfi_identity_with_zero_depthwise_weights():
    lfi = LocalFeatureInteraction(C, num_refs=2, attn_act=None)
    with torch.no_grad():
        for conv in lfi.dw_convs:
            conv.weight.zero_()
            conv.bias.zero_()
    x = _x(B, C, H, W)
    assert torch.equal(lfi(x, [_x(B, C, H, W), _x(B, C, H, W)]), x)


def test_lfi_groups_and_kernel_sizes():
    lfi = LocalFeatureInteraction(C, num_refs=2, kernel_sizes=(3, 5, 7, 9))
    assert [c.kernel_size for c in lfi.dw_convs] == [(3, 3), (5, 5), (7, 7), (9, 9)]
    assert [c.groups for c in lfi.dw_convs] == [8, 8, 8, 8] == [c.in_channels for c in lfi.dw_convs]
    assert [c.out_channels for c in lfi.tok_ref] == [16, 16] and lfi.proj is None
    odd = LocalFeatureInteraction(C, num_refs=2, kernel_sizes=(3, 7), ref_channels=12)
    assert odd.group_channels == [12, 12] and odd.proj.out_channels == C


def test_lfi_locality():
    k = (3, 5)
    lfi = LocalFeatureInteraction(C, num_refs=1, kernel_sizes=k)
    hw = 16
    x, ref = _x(1, C, hw, hw), _x(1, C, hw, hw)
    base = lfi(x, [ref])
    q = (8, 8)
    r = max(k) // 2
    for (py, px), inside in [((8 + r + 1, 8), False), ((8, 8 - r - 1), False), ((8 + r, 8 - r), True)]:
        ref2 = ref.clone()
        ref2[..., py, px] += 10.0
        changed = not torch.allclose(lfi(x, [ref2])[..., q[0], q[1]], base[..., q[0], q[1]])
        assert changed == inside, (py, px)


# ---- ALE (check 11) -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize('variant,refs,calls', [('a', 1, 1), ('b', 1, 3), ('c', 2, 1), ('d', 2, 4), ('e', 2, 7)])
def test_ale_topology_call_counts(variant, refs, calls):
    ale = AlternatingLocalEnhancement(C, variant=variant, lfi=dict(kernel_sizes=(3, 5)))
    seen = []
    for blk in ale.blocks:
        blk.register_forward_hook(lambda m, inp, out: seen.append((inp[0], inp[1])))
    x = _x(B, C, H, W)
    rs = [_x(B, C, H, W) for _ in range(refs)]
    assert ale(x, rs).shape == (B, C, H, W)
    assert len(seen) == calls
    if variant == 'd':  # L1-L3 receive the original inputs
        assert seen[0][0] is x and seen[0][1][0] is rs[0] and seen[0][1][1] is rs[1]
        assert seen[1][0] is rs[0] and seen[1][1][0] is x and seen[1][1][1] is rs[1]
        assert seen[2][0] is rs[1] and seen[2][1][0] is x and seen[2][1][1] is rs[0]
        assert all(t is not x for t in [seen[3][0]] + list(seen[3][1]))
    shared = AlternatingLocalEnhancement(C, variant=variant, share_lfi=True, lfi=dict(kernel_sizes=(3,)))
    assert len(shared.blocks) == (1 + refs if variant in 'bde' else 1)


# ---- box crop (check 3) -------------------------------------------------------------------------------------------
def _blur(x):
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


@pytest.mark.parametrize('box_px', [(48, 48, 80, 80), (16, 64, 48, 96)])  # centred lambda=3 patch / off-centre
def test_crop_resize_of_context_features_matches_patch(box_px):
    """A smooth 'image' of 128 px, 'features' = image downsampled x8: CropResize(ctx feats, box) ~ patch feats."""
    s, f = 128, 8
    yy, xx = torch.meshgrid(torch.linspace(0, 1, s), torch.linspace(0, 1, s), indexing='ij')
    img = torch.stack([torch.sin(3 * xx + 2 * yy), torch.cos(4 * yy - xx)])[None]
    y1, x1, y2, x2 = box_px
    p = y2 - y1
    ctx_feat = F.interpolate(img, size=(s // f,) * 2, mode='area')
    patch_feat = F.interpolate(img[..., y1:y2, x1:x2], size=(p // f * 2,) * 2, mode='area')
    box = torch.tensor([[x1 / s, y1 / s, x2 / s, y2 / s]])
    got = crop_resize(ctx_feat, box, patch_feat.shape[-2:])
    mse = F.mse_loss(_blur(got), _blur(patch_feat)).item()
    assert mse < 2e-3, mse
    wrong = crop_resize(ctx_feat, torch.tensor([[0.0, 0.0, 0.25, 0.25]]), patch_feat.shape[-2:])
    assert F.mse_loss(_blur(wrong), _blur(patch_feat)).item() > 10 * mse
    # the full box is the identity
    torch.testing.assert_close(crop_resize(ctx_feat, torch.tensor([[0.0, 0.0, 1.0, 1.0]])), ctx_feat)


# ---- fusion neck (check 6) ----------------------------------------------------------------------------------------
def test_fusion_is_identity_at_init_without_ale_and_sums_parts():
    neck = LCFALEFusion(C, 3, self_branch_index=0, use_ale=False, lcc=dict(key_channels=16))
    x = _x(B, C, H, W)
    feats = [x, _x(B, C, H, W), _x(B, C, H, W)]
    boxes = torch.tensor([[0, 0, 1, 1], [1 / 3, 1 / 3, 2 / 3, 2 / 3], [0.1, 0.1, 0.3, 0.3]]).expand(B, 3, 4)
    assert torch.equal(neck(x, feats, boxes), x)
    full = LCFALEFusion(C, 3, self_branch_index=0, lcc=dict(key_channels=16, zero_init_gamma=False),
                        ale=dict(lfi=dict(kernel_sizes=(3, 5))))
    parts = full(x, feats, boxes, return_parts=True)
    torch.testing.assert_close(parts['out'], x + parts['lcf'] + parts['ale'])
    assert full.ref_branches == [1, 2]
    concat = LCFALEFusion(C, 3, use_lcf=False, use_ale=False, concat_ablation=True)
    assert concat(x, feats, boxes).shape == (B, C, H, W)
    with pytest.raises(ValueError, match='one reference'):
        LCFALEFusion(C, 3, ale=dict(variant='a'))

"""NKKViT (LoVLANet visual encoder): paper Sec. 2.2 checked at tiny widths."""
import math

import open_clip
import pytest
import torch
import torch.nn.functional as F

from rsseg_ext.models.backbones.kk_vit import NKKAttention, NKKViT, gaussian_prior

TINY = dict(img_size=64, patch_size=32, embed_dims=64, num_layers=4, num_heads=2, drop_path_rate=0.,
            out_indices=(0, 1, 2, 3))


def _attn_pair(**kw):
    torch.manual_seed(0)
    return NKKAttention(32, 2, use_sdpa=False, **kw)


def test_shapes_and_taps():
    m = NKKViT(**TINY).eval()
    outs = m(torch.randn(2, 3, 128, 192))
    assert [tuple(o.shape) for o in outs] == [(2, 64, 4, 6)] * 4
    with pytest.raises(ValueError, match='divisible'):
        m(torch.randn(1, 3, 100, 128))


def test_attention_rows_sum_to_one_and_logits_symmetric():
    attn = _attn_pair(key_key=True, gaussian_prior=True, sigma=2.0)
    x = torch.randn(2, 12, 32)
    a = attn.attention_map(x, (3, 4))
    assert a.shape == (2, 2, 12, 12)
    torch.testing.assert_close(a.sum(-1), torch.ones(2, 2, 12), atol=1e-6, rtol=0)
    logits = attn.logits(x, (3, 4))  # K K^T / sqrt(d) + G is symmetric per head
    torch.testing.assert_close(logits, logits.transpose(-1, -2), atol=1e-6, rtol=0)


def test_gaussian_prior_locality_and_values():
    g = gaussian_prior(5, 7, 2.0)
    assert g.shape == (35, 35)
    torch.testing.assert_close(g, g.t())
    torch.testing.assert_close(torch.diagonal(g), torch.ones(35))
    idx = lambda r, c: r * 7 + c  # noqa: E731  row-major
    assert g[idx(2, 3), idx(2, 4)].item() == pytest.approx(math.exp(-1 / 8), abs=1e-6)  # 0.8825
    assert g[idx(2, 3), idx(3, 4)].item() == pytest.approx(math.exp(-2 / 8), abs=1e-6)  # 0.7788
    assert g[idx(0, 0), idx(0, 4)].item() == pytest.approx(0.1353, abs=1e-4)
    # depends only on p_i - p_j; decreases monotonically with distance
    assert g[idx(0, 0), idx(1, 2)] == g[idx(3, 4), idx(4, 6)]
    row = g[idx(0, 0), [idx(0, c) for c in range(7)]]
    assert torch.all(row[1:] < row[:-1])
    # sigma limits: -> identity for tiny sigma, -> all ones for huge sigma
    torch.testing.assert_close(gaussian_prior(3, 4, 1e-3), torch.eye(12))
    torch.testing.assert_close(gaussian_prior(3, 4, 1e6), torch.ones(12, 12))


def test_gaussian_prior_makes_attention_local():
    attn = _attn_pair(key_key=True, gaussian_prior=True, sigma=1.0)
    torch.nn.init.zeros_(attn.kv.weight)  # flat key-key logits: attention is the softmax of G alone
    a = attn.attention_map(torch.randn(1, 36, 32), (6, 6))[0, 0]
    centre = 2 * 6 + 2
    assert a[centre, centre + 1] > a[centre, centre + 3] > a[centre, 35]


def test_prior_off_or_huge_sigma_is_plain_key_key():
    x = torch.randn(2, 12, 32)
    plain = _attn_pair(key_key=True, gaussian_prior=False)
    wide = _attn_pair(key_key=True, gaussian_prior=True, sigma=1e6)
    torch.testing.assert_close(wide(x, (3, 4)), plain(x, (3, 4)), atol=1e-6, rtol=0)
    # and plain KK is softmax(K K^T / sqrt(d)) V exactly
    k, v = plain.kv(x).view(2, 12, 2, 2, 16).permute(2, 0, 3, 1, 4)
    ref = (k @ k.transpose(-1, -2) / 4.).softmax(-1) @ v
    torch.testing.assert_close(plain(x, (3, 4)), plain.proj(ref.transpose(1, 2).reshape(2, 12, 32)))
    # with the prior the logits differ from plain KK by exactly G
    near = _attn_pair(key_key=True, gaussian_prior=True, sigma=2.0)
    torch.testing.assert_close(near.logits(x, (3, 4)) - plain.logits(x, (3, 4)),
                               gaussian_prior(3, 4, 2.0).expand(2, 2, 12, 12), atol=1e-5, rtol=0)


def test_fused_matches_manual():
    x = torch.randn(2, 20, 32)
    manual = _attn_pair(key_key=True, gaussian_prior=True, sigma=2.0)
    fused = _attn_pair(key_key=True, gaussian_prior=True, sigma=2.0)
    fused.use_sdpa = True
    torch.testing.assert_close(fused(x, (4, 5)), manual(x, (4, 5)), atol=1e-5, rtol=0)


def test_permutation_equivariance_only_without_prior():
    x = torch.randn(1, 12, 32)
    perm = torch.randperm(12)
    plain = _attn_pair(key_key=True, gaussian_prior=False)
    torch.testing.assert_close(plain(x[:, perm], (3, 4)), plain(x, (3, 4))[:, perm], atol=1e-6, rtol=0)
    near = _attn_pair(key_key=True, gaussian_prior=True)
    assert not torch.allclose(near(x[:, perm], (3, 4)), near(x, (3, 4))[:, perm], atol=1e-4)


def test_reduced_last_block():
    m = NKKViT(**TINY).eval()
    last = m.blocks[-1]
    assert not hasattr(last, 'mlp') and not hasattr(last, 'norm2')
    x = torch.randn(2, 6, 64)
    torch.testing.assert_close(last(x, (2, 3)), last.attn(last.norm1(x), (2, 3)))
    res = NKKViT(**TINY, last_block_residual=True).blocks[-1].eval()
    torch.testing.assert_close(res(x, (2, 3)), x + res.attn(res.norm1(x), (2, 3)))


def test_ablation_flags_and_layers():
    full = NKKViT(**TINY)
    assert all(hasattr(b.attn, 'kv') and b.attn.gaussian_prior for b in full.blocks)
    part = NKKViT(**TINY, kk_layers=[0, 1], gauss_layers=[3])
    assert [hasattr(b.attn, 'kv') for b in part.blocks] == [True, True, False, False]
    assert [b.attn.gaussian_prior for b in part.blocks] == [False, False, False, True]
    base = NKKViT(**TINY, key_key=False, gaussian_prior=False, reduce_last_mlp=False)
    assert all(hasattr(b.attn, 'qkv') and hasattr(b, 'mlp') for b in base.blocks)


def test_parameter_deltas_vit_b32():
    """Parameter deltas (docs/methods/lovlanet.md, Size and compute) on the real ViT-B/32 (pos grid 32x32, no CLS)."""
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    base = n(NKKViT(img_size=1024, key_key=False, gaussian_prior=False, reduce_last_mlp=False))
    assert base == 88_202_496
    assert base - n(NKKViT(img_size=1024, gaussian_prior=False, reduce_last_mlp=False)) == 7_087_104
    assert base - n(NKKViT(img_size=1024, key_key=False, gaussian_prior=False)) == 4_723_968


def test_timm_parity_and_kk_equals_vanilla_with_wq_eq_wk():
    timm = pytest.importorskip('timm')
    torch.manual_seed(0)
    ref = timm.create_model('vit_base_patch32_224', pretrained=False, class_token=False, global_pool='',
                            img_size=64, embed_dim=64, depth=3, num_heads=2).eval()
    x = torch.randn(2, 3, 64, 64)
    cfg = dict(img_size=64, embed_dims=64, num_layers=3, num_heads=2, drop_path_rate=0., out_indices=(2, ))
    vanilla = NKKViT(key_key=False, gaussian_prior=False, reduce_last_mlp=False, **cfg).eval()
    assert vanilla.load_pretrained_state_dict(ref.state_dict(), 'timm').ok
    expect = ref.forward_intermediates(x, indices=[2], norm=True, output_fmt='NCHW', intermediates_only=True)[0]
    torch.testing.assert_close(vanilla(x)[0], expect, atol=1e-5, rtol=1e-5)
    # copy the k rows into q: vanilla attention == key-key attention loaded through the qkv -> kv converter
    sd = ref.state_dict()
    for i in range(3):
        w, b = sd[f'blocks.{i}.attn.qkv.weight'], sd[f'blocks.{i}.attn.qkv.bias']
        w[:64], b[:64] = w[64:128].clone(), b[64:128].clone()
    ref.load_state_dict(sd)
    kk = NKKViT(key_key=True, gaussian_prior=False, reduce_last_mlp=False, **cfg).eval()
    assert kk.load_pretrained_state_dict(sd, 'timm').ok
    expect = ref.forward_intermediates(x, indices=[2], norm=True, output_fmt='NCHW', intermediates_only=True)[0]
    torch.testing.assert_close(kk(x)[0], expect, atol=1e-5, rtol=1e-5)


def _tiny_open_clip():
    torch.manual_seed(0)
    return open_clip.model.CLIP(
        embed_dim=32, vision_cfg=open_clip.model.CLIPVisionCfg(layers=2, width=64, patch_size=32, image_size=64,
                                                               head_width=32),
        text_cfg=open_clip.model.CLIPTextCfg(context_length=77, vocab_size=49408, width=32, heads=2, layers=1)).eval()


def _open_clip_tokens(visual, x):
    """open_clip image tower without the CLS token: ln_post(transformer(ln_pre(patches + pos)))."""
    t = visual.conv1(x).flatten(2).transpose(1, 2) + visual.positional_embedding[1:]
    return visual.ln_post(visual.transformer(visual.ln_pre(t)))


def test_open_clip_visual_key_mapping(tmp_path):
    clip = _tiny_open_clip()
    path = tmp_path / 'RemoteCLIP-tiny.pt'
    torch.save(clip.state_dict(), path)  # full CLIP state dict: visual.* + text keys, as RemoteCLIP ships it
    cfg = dict(img_size=64, embed_dims=64, num_layers=2, num_heads=2, drop_path_rate=0., out_indices=(1, ),
               patch_bias=False, pre_norm=True, norm_eps=1e-5, weight_format='open_clip', pretrained=str(path))
    m = NKKViT(key_key=False, gaussian_prior=False, reduce_last_mlp=False, **cfg).eval()
    m.init_weights()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expect = _open_clip_tokens(clip.visual, x).transpose(1, 2).reshape(2, 64, 2, 2)
        torch.testing.assert_close(m(x)[0], expect, atol=1e-5, rtol=1e-5)
    # the default (KK + reduced last block) loads strictly too: q rows and the last FFN are dropped
    full = NKKViT(**cfg)
    full.init_weights()
    in_proj = clip.visual.transformer.resblocks[0].attn.in_proj_weight
    torch.testing.assert_close(full.blocks[0].attn.kv.weight, in_proj[64:])


def test_missing_visual_weights_error_names_path_and_source(tmp_path):
    m = NKKViT(**TINY, pretrained=str(tmp_path / 'nope.safetensors'))
    with pytest.raises(FileNotFoundError, match=r'nope\.safetensors[\s\S]*huggingface'):
        m.init_weights()


def test_open_clip_quick_gelu_tower_and_drop_path():
    """``act='quick_gelu'`` reproduces a QuickGELU open_clip tower (OpenAI/RemoteCLIP as trained); drop-path is
    active only in training."""
    torch.manual_seed(0)
    clip = open_clip.model.CLIP(
        embed_dim=32, quick_gelu=True,
        vision_cfg=open_clip.model.CLIPVisionCfg(layers=2, width=64, patch_size=32, image_size=64, head_width=32),
        text_cfg=open_clip.model.CLIPTextCfg(context_length=77, vocab_size=49408, width=32, heads=2, layers=1)).eval()
    m = NKKViT(img_size=64, embed_dims=64, num_layers=2, num_heads=2, drop_path_rate=0.5, out_indices=(1, ),
               patch_bias=False, pre_norm=True, norm_eps=1e-5, act='quick_gelu', key_key=False,
               gaussian_prior=False, reduce_last_mlp=False)
    assert m.load_pretrained_state_dict(clip.state_dict(), 'open_clip').ok
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expect = _open_clip_tokens(clip.visual, x).transpose(1, 2).reshape(2, 64, 2, 2)
        torch.testing.assert_close(m.eval()(x)[0], expect, atol=1e-5, rtol=1e-5)
        torch.manual_seed(1)
        assert not torch.allclose(m.train()(x)[0], expect, atol=1e-3)  # block 2 has drop-path rate 0.5

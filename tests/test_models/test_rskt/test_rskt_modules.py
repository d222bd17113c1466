"""RSKT-Seg building blocks: CPU checks that need no segmentor (rotation alignment, cosine cost,
RS-Fusion attention, BCE values, q/v split, dense last block, position embeddings, DINO checkpoint loading,
parameter counts of the new modules)."""
import argparse
import copy
import math

import open_clip
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import init_default_scope

from rskt_tiny import CLIP
from rsseg_ext.models.backbones import DINOViTEncoder, OpenCLIPDenseBackbone, OpenCLIPIntermediateEncoder
from rsseg_ext.models.decode_heads import RSKTHead
from rsseg_ext.models.losses import OpenVocabBCELoss
from rsseg_ext.models.necks import ClassPoolBlock, RSFusionLayer, RSKTCostAggregator, SpatialReductionBlock
from rsseg_ext.models.necks.rskt_cost_aggregator import cosine_cost
from rsseg_ext.models.text import build_open_clip
from rsseg_ext.models.utils import WeightsNotFoundError, split_in_proj_state_dict, split_mha_in_proj
from rsseg_ext.models.utils.clip_vit import resize_clip_pos_embed
from conftest import one_torch_thread

init_default_scope('mmseg')


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """2 shared cores: one intra-op thread is 20x faster here than two contending ones."""
    with one_torch_thread():
        yield


def _backbone(**kw):
    kw.setdefault('model_cfg', CLIP)
    kw.setdefault('allow_random_init', True)
    kw.setdefault('out_indices', (0, 1))
    return OpenCLIPDenseBackbone(**kw)


# ---------------------------------------------------------------------------------------------- RS-CMA (§10.2-3)
def test_rotation_alignment_with_equivariant_stub():
    torch.manual_seed(0)
    bb = _backbone(input_size=96)
    proj = torch.randn(3, 32, dtype=torch.float64)  # float64: pooling sums in rotated order round alike

    def stub(x):  # stride-16 average pooling (a centre-symmetric kernel) + per-patch linear map: equivariant
        p = F.avg_pool2d(x, 16)  # (N, 3, 6, 6)
        tokens = p.flatten(2).transpose(1, 2) @ proj
        return dict(tokens=torch.cat([torch.zeros_like(tokens[:, :1]), tokens], 1),
                    hooks=[torch.cat([torch.zeros_like(tokens[:, :1]), tokens], 1)] * 2, grid=(6, 6))

    bb.encode_image_tokens = stub
    x = torch.randn(2, 3, 96, 96, dtype=torch.float64)
    out = bb(x)
    assert len(out['clip_dense']) == 4 and out['clip_dense'][0].shape == (2, 32, 6, 6)
    for d in out['clip_dense'][1:]:
        torch.testing.assert_close(d, out['clip_dense'][0], atol=1e-6, rtol=0)
    # the 4 cost maps of the neck are then identical too
    text = F.normalize(torch.randn(5, 1, 32, dtype=torch.float64), dim=-1)
    costs = torch.cat([cosine_cost(f, text) for f in out['clip_dense']], 1)
    assert costs.shape == (2, 4, 5, 6, 6)
    torch.testing.assert_close(costs, costs[:, :1].expand_as(costs), atol=1e-6, rtol=0)
    for k in range(4):
        assert torch.equal(torch.rot90(torch.rot90(x, k, (2, 3)), 4 - k, (2, 3)), x)


def test_cosine_cost_is_one_on_the_matching_pixel_and_bounded():
    feat = torch.randn(2, 16, 5, 7)
    text = torch.randn(3, 2, 16)
    text[1, 0] = feat[1, :, 2, 4] * 3.0  # same direction as pixel (2, 4) of image 1
    c = cosine_cost(feat, text)
    assert c.shape == (2, 2, 3, 5, 7)
    assert c[1, 0, 1, 2, 4].item() == pytest.approx(1.0, abs=1e-6)
    assert c.abs().max() <= 1 + 1e-6


# ---------------------------------------------------------------------------------------------- RS-Fusion (§10.5-7)
def test_set_is_independent_across_classes():
    torch.manual_seed(0)
    blk = SpatialReductionBlock(dim=16, guidance_dim=8, num_heads=4).eval()
    x, g = torch.randn(6, 16, 8, 8), torch.randn(6, 8, 8, 8)
    y = blk(x, g)
    x2 = x.clone()
    x2[3] += torch.randn(16, 8, 8)
    y2 = blk(x2, g)
    keep = [0, 1, 2, 4, 5]
    torch.testing.assert_close(y2[keep], y[keep], atol=1e-6, rtol=0)
    assert not torch.allclose(y2[3], y[3])


def test_sra_with_ratio_one_is_plain_attention_and_ratio_two_reduces_keys():
    torch.manual_seed(0)
    blk = SpatialReductionBlock(dim=16, guidance_dim=8, num_heads=4, sr_ratio=1).eval()
    x, g = torch.randn(2, 16, 4, 4), torch.randn(2, 8, 4, 4)
    t = x.flatten(2).transpose(1, 2)
    xn = blk.norm1(t)
    u = torch.cat([xn, g.flatten(2).transpose(1, 2)], -1)
    q, k, v = blk.q(u), blk.k(u), blk.v(xn)
    heads = lambda z: z.reshape(2, 16, 4, 4).transpose(1, 2)  # noqa: E731  (N, heads, L, d)
    a = torch.softmax(heads(q) @ heads(k).transpose(-1, -2) / math.sqrt(4), -1) @ heads(v)
    ref = t + blk.proj(a.transpose(1, 2).reshape(2, 16, 16))
    m = blk.mlp(blk.norm2(ref)).transpose(1, 2).reshape(2, 16, 4, 4)
    ref = ref.transpose(1, 2).reshape(2, 16, 4, 4) + blk.dwconv(m)
    torch.testing.assert_close(blk(x, g), ref, atol=1e-5, rtol=1e-5)
    # sr_ratio=2: the keys/values are a quarter as many tokens
    blk2 = SpatialReductionBlock(dim=16, guidance_dim=8, num_heads=4, sr_ratio=2)
    seen = {}
    blk2.k.register_forward_hook(lambda m, i, o: seen.update(k=o.shape))
    blk2(torch.randn(2, 16, 8, 8), torch.randn(2, 8, 8, 8))
    assert seen['k'] == (2, 64 // 4, 16)


def test_cet_pooling_path_is_exact_for_constant_input():
    torch.manual_seed(0)
    blk = ClassPoolBlock(dim=16, guidance_dim=8, num_heads=4, pool=2).eval()
    b, c, t = 1, 16, 3
    const = torch.randn(b, c, t, 1, 1)
    x = const.expand(b, c, t, 6, 6).contiguous()
    txt = torch.randn(b, t, 8)
    out = blk(x, txt)
    # reference: the MiT block on the single pooled pixel (a length-T sequence), broadcast back
    s = const.reshape(b, c, t).transpose(1, 2)  # (1, T, C)
    sn = blk.norm1(s)
    u = torch.cat([sn, txt], -1)
    heads = lambda z: z.reshape(1, t, 4, 4).transpose(1, 2)  # noqa: E731
    a = torch.softmax(heads(blk.q(u)) @ heads(blk.k(u)).transpose(-1, -2) / 2.0, -1) @ heads(blk.v(sn))
    s = s + blk.proj(a.transpose(1, 2).reshape(1, t, c))
    s = s + F.relu6(blk.mlp(blk.norm2(s)))  # (1, T, C): the block output (inner residuals included)
    torch.testing.assert_close(out - x, s.transpose(1, 2)[..., None, None].expand_as(x), atol=1e-5, rtol=1e-5)


def test_rs_fusion_layer_parameter_count_and_permutation():
    layer = RSFusionLayer(128, 128, 128)
    assert sum(p.numel() for p in layer.spatial.parameters()) == 582_912
    assert sum(p.numel() for p in layer.klass.parameters()) == 247_680
    small = RSFusionLayer(16, 8, 8, num_heads=4).eval()
    x, app, txt = torch.randn(2, 16, 5, 6, 6), torch.randn(2, 8, 6, 6), torch.randn(2, 5, 8)
    perm = torch.tensor([3, 0, 4, 1, 2])
    torch.testing.assert_close(small(x[:, :, perm], app, txt[:, perm]), small(x, app, txt)[:, :, perm],
                               atol=1e-5, rtol=1e-5)


def test_new_module_parameter_budget_vit_b16():
    """§2.10 / §10.17: decoder + pre-projections + 5 RS-Fusion layers = 13.852 M trainable (exact arithmetic)."""
    neck = RSKTCostAggregator(num_layers=5)
    head = RSKTHead(num_classes=17)
    n_neck = sum(p.numel() for p in neck.parameters())
    n_head = sum(p.numel() for p in head.parameters())
    assert n_neck + n_head == 6_882_944 + 2_816_193 + 5 * 830_592
    n_l = sum(p.numel() for p in RSKTCostAggregator(embed_dim=768, num_layers=5).parameters()) + sum(
        p.numel() for p in RSKTHead(clip_width=1024, num_classes=17).parameters())
    assert abs(n_l - (8.456e6 + 3.144e6 + 5 * 830_592)) < 2e3


# ---------------------------------------------------------------------------------------------- loss (§10.8)
def test_bce_loss_values():
    label = torch.randint(0, 4, (2, 8, 8))
    label[0, 0, 0] = 255
    for mode in ('negative', 'exclude'):
        loss = OpenVocabBCELoss(ignore_mode=mode)
        assert loss(torch.zeros(2, 4, 8, 8), label).item() == pytest.approx(math.log(2), abs=1e-6)
    onehot = F.one_hot(label.clamp(max=3), 4).permute(0, 3, 1, 2).float()
    assert OpenVocabBCELoss(ignore_mode='exclude')(onehot * 40 - 20, label).item() < 1e-8
    # one ignored pixel with logits x: mean softplus(x) over its T entries in 'negative' mode, nothing in 'exclude'
    label = torch.zeros(1, 2, 2, dtype=torch.long)
    label[0, 0, 0] = 255
    logits = torch.full((1, 3, 2, 2), -30.0)
    logits[0, 0] = 30.0  # the valid pixels are (almost) perfectly predicted
    x = torch.tensor([0.5, -1.0, 2.0])
    logits[0, :, 0, 0] = x
    neg = OpenVocabBCELoss(ignore_mode='negative')(logits, label).item()
    exc = OpenVocabBCELoss(ignore_mode='exclude')(logits, label).item()
    assert neg == pytest.approx(F.softplus(x).sum().item() / 12, rel=1e-5)  # denominator: all 4 pixels x 3
    assert exc < 1e-10
    with pytest.raises(ValueError, match='vocabulary'):
        OpenVocabBCELoss()(torch.zeros(1, 3, 2, 2), torch.full((1, 2, 2), 5))


# ---------------------------------------------------------------------------------------------- CLIP (§10.9-11)
def test_qv_split_same_outputs_and_only_qv_train(tmp_path):
    torch.manual_seed(0)
    ref = build_open_clip(model_cfg=CLIP).eval()
    split = copy.deepcopy(ref)
    assert split_mha_in_proj(split) == 5  # 3 visual + 2 text blocks
    x, tok = torch.randn(2, 3, 64, 64), open_clip.tokenize(['a road', 'a river'])
    torch.testing.assert_close(split.encode_image(x), ref.encode_image(x), atol=1e-6, rtol=0)
    torch.testing.assert_close(split.encode_text(tok), ref.encode_text(tok), atol=1e-6, rtol=0)

    # a packed (OpenAI/open_clip layout) file loads into the split model through the text encoder wrapper
    path = tmp_path / 'clip.pt'
    torch.save(ref.state_dict(), path)
    bb = _backbone(checkpoint=str(path))
    bb.init_weights()
    torch.testing.assert_close(bb.clip.encode_text(tok), ref.encode_text(tok), atol=1e-6, rtol=0)
    assert set(split_in_proj_state_dict(ref.state_dict(), bb.clip.state_dict())) == set(bb.clip.state_dict())

    trainable = {n: p for n, p in bb.named_parameters() if p.requires_grad}
    assert all(n.endswith(('q_proj_weight', 'v_proj_weight')) for n in trainable)
    assert sum(p.numel() for p in trainable.values()) == 2 * 64**2 * 3 + 2 * 32**2 * 2
    before = {n: p.detach().clone() for n, p in bb.named_parameters()}
    opt = torch.optim.AdamW([p for p in bb.parameters() if p.requires_grad], lr=1e-2, weight_decay=0.1)
    out = bb(torch.randn(1, 3, 64, 64))
    loss = sum(d.sum() for d in out['clip_dense']) + bb.encode_text(['road', 'water']).sum()
    loss.backward()
    opt.step()
    for n, p in bb.named_parameters():
        changed = not torch.equal(p, before[n])
        # the dense last block uses only v: the last visual q is trainable (counted, as in the original) but idle
        idle = n.endswith('visual.transformer.resblocks.2.attn.q_proj_weight')
        assert changed == (n.endswith(('q_proj_weight', 'v_proj_weight')) and not idle), n
        if not p.requires_grad:
            assert p.grad is None, n


def test_dense_last_block_and_plain_cls_output():
    torch.manual_seed(0)
    bb = _backbone(input_size=64, rotations=(0, ), dense_last_block=False).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        cls = bb.encode_image_tokens(x)['tokens'][:, 0]
        torch.testing.assert_close(cls, bb.clip.encode_image(x), atol=1e-5, rtol=1e-5)
    bb.dense_last_block = True
    with torch.no_grad():
        out = bb.encode_image_tokens(x)
        # tokens entering the last block, by open_clip's own blocks
        v = bb.visual
        t = torch.cat([v.class_embedding.expand(2, 1, -1), v.conv1(x).flatten(2).transpose(1, 2)], 1)
        t = v.ln_pre(t + v.positional_embedding)
        for blk in v.transformer.resblocks[:-1]:
            t = blk(t)
        last = v.transformer.resblocks[-1]
        j = 5
        y = last.ln_1(t[:, j])
        vj = F.linear(y, last.attn.v_proj_weight, last.attn.in_proj_bias[128:])
        z = last.attn.out_proj(vj) + t[:, 0]
        z = z + last.mlp(last.ln_2(z))
        torch.testing.assert_close(out['tokens'][:, j], v.ln_post(z) @ v.proj, atol=1e-5, rtol=1e-5)


def test_pos_embed_resize():
    pos = torch.randn(1 + 16, 8)
    assert resize_clip_pos_embed(pos, (4, 4)) is pos
    big = resize_clip_pos_embed(pos, (6, 6))
    assert big.shape == (37, 8) and torch.equal(big[0], pos[0])


# ---------------------------------------------------------------------------------------------- frozen encoders
def test_dino_checkpoint_loading_and_intermediate_norm(tmp_path):
    torch.manual_seed(0)
    src = DINOViTEncoder(embed_dim=64, depth=4, num_heads=2, pretrain_img_size=64, input_size=64,
                         out_indices=(0, 1, 3), allow_random_init=True)
    teacher = {'backbone.' + k: v for k, v in src.state_dict().items()}
    teacher['head.mlp.0.weight'] = torch.randn(4, 64)
    path = tmp_path / 'RSIB.pth'
    torch.save({'teacher': teacher, 'student': {}, 'epoch': 3, 'args': argparse.Namespace(arch='vit_base')}, path)
    dst = DINOViTEncoder(embed_dim=64, depth=4, num_heads=2, pretrain_img_size=64, input_size=64,
                         out_indices=(0, 1, 3), checkpoint=str(path))
    dst.init_weights()
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k
    assert not any(p.requires_grad for p in dst.parameters())
    x = torch.randn(1, 3, 64, 64)
    outs = dst(x)
    assert [tuple(o.shape) for o in outs] == [(1, 64, 8, 8)] * 3
    # each output = final norm of that block's tokens
    t = torch.cat([dst.cls_token, dst.patch_embed.proj(x).flatten(2).transpose(1, 2)], 1) + dst.pos_embed
    for blk in dst.blocks[:2]:
        t = blk(t)
    torch.testing.assert_close(outs[1], dst.norm(t)[:, 1:].transpose(1, 2).reshape(1, 64, 8, 8))
    timm = pytest.importorskip('timm')
    from functools import partial
    tv = timm.models.vision_transformer.VisionTransformer(
        img_size=64, patch_size=8, embed_dim=64, depth=4, num_heads=2, qkv_bias=True, num_classes=0,
        norm_layer=partial(nn.LayerNorm, eps=1e-6)).eval()
    dst.load_state_dict(tv.state_dict(), strict=True)  # DINO/timm key names are ours
    ref = tv.get_intermediate_layers(x, n=(0, 1, 3), reshape=True, norm=True)
    for a, b in zip(dst(x), ref):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_missing_weight_files_name_the_path(tmp_path):
    enc = OpenCLIPIntermediateEncoder(model_cfg=CLIP, checkpoint=str(tmp_path / 'RemoteCLIP-ViT-B-32.pt'),
                                      input_size=64, out_indices=(0, 1))
    with pytest.raises(WeightsNotFoundError, match='RemoteCLIP-ViT-B-32.pt') as e:
        enc.init_weights()
    assert 'chendelong/RemoteCLIP' in str(e.value) and 'model.remote_clip.checkpoint' in str(e.value)
    dino = DINOViTEncoder(embed_dim=64, depth=1, num_heads=2, checkpoint='pretrained/rs_dino/RSIB.pth')
    with pytest.raises(WeightsNotFoundError, match='RSIB.pth'):
        dino.init_weights()
    with pytest.raises(ValueError, match='checkpoint'):
        OpenCLIPDenseBackbone(model_cfg=CLIP)


def test_remote_clip_loads_open_clip_file_and_returns_hooks(tmp_path):
    torch.manual_seed(0)
    ref = build_open_clip(model_cfg=CLIP)
    path = tmp_path / 'rc.pt'
    torch.save(ref.state_dict(), path)
    enc = OpenCLIPIntermediateEncoder(model_cfg=CLIP, checkpoint=str(path), input_size=96, out_indices=(0, 1),
                                      truncate=True)
    enc.init_weights()
    assert len(enc.visual.transformer.resblocks) == 2
    torch.testing.assert_close(enc.visual.conv1.weight, ref.visual.conv1.weight)
    enc.train()
    outs = enc(torch.randn(2, 3, 96, 96))
    assert [tuple(o.shape) for o in outs] == [(2, 64, 6, 6)] * 2 and not outs[0].requires_grad
    assert not enc.visual.training

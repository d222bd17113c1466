"""LoVLANetHead + the tiny LoVLANet EncoderDecoder: paper Sec. 2.2 (SFF, CMFA) at tiny widths."""
import copy
import math

import open_clip
import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

import rsseg_ext  # noqa: F401  registers NKKViT, LoVLANetHead, VLAlignLoss
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

init_default_scope('mmseg')

TEXT_CFG = dict(embed_dim=32, vision_cfg=dict(layers=1, width=32, patch_size=8, image_size=32, head_width=16),
                text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=1))
NAMES = ('building', 'road', 'water', 'barren', 'forest', 'agricultural')


def tiny_head_cfg(**kw):
    cfg = dict(type='LoVLANetHead', in_channels=[32] * 4, in_index=[0, 1, 2, 3], channels=32, num_classes=6,
               norm_cfg=dict(type='BN', requires_grad=True), class_names=NAMES,
               text_encoder=dict(type='OpenCLIPTextEncoder', model_cfg=TEXT_CFG, allow_random_init=True),
               loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True))
    cfg.update(kw)
    return cfg


def tiny_model_cfg(**head_kw):
    return dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[127.5] * 3, std=[127.5] * 3, bgr_to_rgb=True,
                               pad_val=0, seg_pad_val=255, size=(128, 128), test_cfg=dict(size_divisor=32)),
        backbone=dict(type='NKKViT', img_size=64, patch_size=32, embed_dims=64, num_layers=4, num_heads=2,
                      out_indices=(0, 1, 2, 3), drop_path_rate=0.),
        neck=dict(type='MultiLevelNeck', in_channels=[64] * 4, out_channels=32, scales=[8, 4, 2, 1]),
        decode_head=tiny_head_cfg(**head_kw), train_cfg=dict(), test_cfg=dict(mode='whole'))


def _samples(b, h, w, fill=None):
    out = []
    for _ in range(b):
        gt = torch.randint(0, 6, (1, h, w)) if fill is None else torch.full((1, h, w), fill)
        s = SegDataSample(gt_sem_seg=PixelData(data=gt))
        s.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        out.append(s)
    return out


def test_shapes_text_norms_and_no_conv_seg():
    model = MODELS.build(tiny_model_cfg())
    model.init_weights()  # no conv_seg init error
    head = model.decode_head
    assert not hasattr(head, 'conv_seg')
    x = torch.randn(2, 3, 128, 192)
    feats = model.neck(model.backbone(x))
    assert [tuple(f.shape) for f in feats] == [(2, 32, 32, 48), (2, 32, 16, 24), (2, 32, 8, 12), (2, 32, 4, 6)]
    s = head(feats)
    assert s.shape == (2, 6, 32, 48)
    t = head.text_embeddings()
    assert t.shape == (6, 32)
    torch.testing.assert_close(t.norm(dim=-1), torch.ones(6))
    meta = [dict(img_shape=(128, 192), ori_shape=(128, 192), pad_shape=(128, 192))] * 2
    assert head.predict_by_feat(s, meta).shape == (2, 6, 128, 192)
    assert (s.abs() <= head.tau + 1e-5).all()  # |S| <= tau
    assert head.tau.item() == pytest.approx(1 / 0.07, rel=1e-5)


def test_cosine_classifier_argmax_and_gradients():
    head = MODELS.build(tiny_head_cfg(out_conv=False))
    t = head.text_embeddings()
    # a pixel equal to t_c is classified as c
    inputs = [torch.zeros(1, 32, 8, 8) for _ in range(4)]
    inputs[0][0, :, 0, 0] = t[2] * 3.
    inputs[0][0, :, 0, 1] = t[4] * 0.5
    pred = head(inputs).argmax(1)
    assert pred[0, 0, 0] == 2 and pred[0, 0, 1] == 4
    # logit_scale learns, the frozen text tower gets no gradient
    losses = head.loss(inputs, _samples(1, 32, 32), None)
    (losses['loss_ce'] + losses['loss_align']).backward()
    assert head.logit_scale.grad is not None and head.logit_scale.grad.abs() > 0
    assert all(not p.requires_grad and p.grad is None for p in head.text_encoder.parameters())


def test_zero_logits_ce_and_all_ignored_labels():
    head = MODELS.build(tiny_head_cfg())
    losses = head.loss_by_feat(torch.zeros(2, 6, 8, 8), _samples(2, 32, 32))
    assert losses['loss_ce'].item() == pytest.approx(math.log(6), abs=1e-5)  # 1.791759
    inputs = [torch.randn(2, 32, 8 // 2**i, 8 // 2**i) for i in range(4)]
    losses = head.loss(inputs, _samples(2, 32, 32, fill=255), None)
    assert losses['loss_ce'].item() == 0. and losses['loss_align'].item() == 0.


def test_vocabulary_change_invalidates_text_cache():
    head = MODELS.build(tiny_head_cfg())
    enc = head.text_encoder
    t1 = head.text_embeddings()
    assert head.text_embeddings().data_ptr() == t1.data_ptr() and len(enc._cache) == 1  # cached
    head.set_class_names(('built-up', 'farmland', 'forest', 'meadow', 'water', 'barren land'))
    t2 = head.text_embeddings()
    assert not torch.allclose(t2[0], t1[0]) and len(enc._cache) == 2
    torch.testing.assert_close(t2[2], t1[4])  # 'forest' encodes the same
    with pytest.raises(ValueError, match='num_classes=6'):
        head.set_class_names(NAMES[:5])
    # new weights (e.g. load_from) must not serve stale embeddings
    sd = copy.deepcopy(head.state_dict())
    for k in sd:
        if k.startswith('text_encoder.') and sd[k].is_floating_point():
            sd[k] = sd[k] + 0.1 * torch.randn_like(sd[k])
    head.load_state_dict(sd)
    assert not torch.allclose(head.text_embeddings(), t2)


def test_tokenizer_offline_and_text_equals_encode_text(tmp_path, monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    tok = open_clip.get_tokenizer('ViT-B-32')
    ids = tok(['building', 'Building'])
    assert ids.shape == (2, 77) and ids[0, :4].tolist() == [49406, 2307, 49407, 0]
    assert torch.equal(ids[0], ids[1])
    clip = open_clip.model.CLIP(**TEXT_CFG).eval()
    path = tmp_path / 'RemoteCLIP-tiny.pt'
    torch.save(clip.state_dict(), path)
    head = MODELS.build(tiny_head_cfg(text_encoder=dict(type='OpenCLIPTextEncoder', model_cfg=TEXT_CFG,
                                                        checkpoint=str(path)),
                                      logit_scale_init='text_encoder'))
    head.init_weights()
    with torch.no_grad():
        expect = F.normalize(clip.encode_text(tok(list(NAMES))), dim=-1)
    torch.testing.assert_close(head.text_embeddings(), expect, atol=1e-5, rtol=1e-5)
    assert head.logit_scale.item() == pytest.approx(clip.logit_scale.item())  # tau from the CLIP checkpoint


def test_missing_text_weights_error(tmp_path):
    head = MODELS.build(tiny_head_cfg(text_encoder=dict(type='OpenCLIPTextEncoder', model_cfg=TEXT_CFG,
                                                        checkpoint=str(tmp_path / 'RemoteCLIP-ViT-B-32.pt'))))
    with pytest.raises(FileNotFoundError, match=r'RemoteCLIP-ViT-B-32\.pt[\s\S]*chendelong/RemoteCLIP'):
        head.init_weights()


def test_train_step_and_whole_slide_inference():
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg())
    model.init_weights()
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3)
    data = dict(inputs=[torch.randint(0, 256, (3, 128, 128), dtype=torch.uint8) for _ in range(2)],
                data_samples=_samples(2, 128, 128))
    from mmengine.optim import OptimWrapper
    log = model.train_step(data, OptimWrapper(optim))
    assert {'decode.loss_ce', 'decode.loss_align', 'decode.acc_seg'} <= set(log)
    assert all(torch.isfinite(log[k]) for k in log)
    model.eval()
    for test_cfg in (dict(mode='whole'), dict(mode='slide', crop_size=(64, 64), stride=(32, 32))):
        from mmengine.config import ConfigDict
        model.test_cfg = ConfigDict(test_cfg)
        out = model.test_step(dict(inputs=data['inputs'], data_samples=_samples(2, 128, 128)))
        assert out[0].pred_sem_seg.data.shape == (1, 128, 128)

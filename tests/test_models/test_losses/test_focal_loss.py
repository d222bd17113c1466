"""SoftmaxFocalLoss: cross entropy at gamma=0, FCtL reference values, and mmseg decode-head wiring."""
import math

import pytest
import torch
import torch.nn.functional as F

import rsseg_ext  # noqa: F401
from mmseg.registry import MODELS


def _inputs(n=2, c=5, h=6, w=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, h, w, generator=g) * 3
    label = torch.randint(0, c, (n, h, w), generator=g)
    label[0, :2] = 255  # some ignored pixels
    return logits, label


def _naive(logits, label, gamma, alpha=None, class_weight=None, ignore_index=255):
    """Pixel-by-pixel reference: sum of -a_t w_t (1-p_t)^g log p_t over valid pixels / sum of w_t."""
    prob = logits.double().softmax(1)
    num, den = 0.0, 0.0
    n, _, h, w = logits.shape
    for b in range(n):
        for i in range(h):
            for j in range(w):
                t = int(label[b, i, j])
                if t == ignore_index:
                    continue
                pt = float(prob[b, t, i, j])
                a = 1.0 if alpha is None else (alpha[t] if isinstance(alpha, list) else alpha)
                cw = 1.0 if class_weight is None else class_weight[t]
                num += -a * cw * (1 - pt)**gamma * math.log(pt)
                den += cw
    return num / den


def test_builds_from_registry_with_loss_name():
    loss = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=3.0, loss_name='loss_fc'))
    assert type(loss).__name__ == 'SoftmaxFocalLoss'
    assert loss.loss_name == 'loss_fc'
    assert MODELS.build(dict(type='SoftmaxFocalLoss')).loss_name == 'loss_focal'


def test_gamma_zero_equals_cross_entropy_exactly():
    logits, label = _inputs()
    loss = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=0.0))
    ce = F.cross_entropy(logits, label, ignore_index=255)
    assert torch.equal(loss(logits, label, ignore_index=255), ce)
    # with class weights: the weighted mean of F.cross_entropy(weight=...)
    cw = [1.0, 2.0, 0.5, 3.0, 1.5]
    loss_w = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=0.0, class_weight=cw))
    ce_w = F.cross_entropy(logits, label, weight=torch.tensor(cw), ignore_index=255)
    torch.testing.assert_close(loss_w(logits, label, ignore_index=255), ce_w, rtol=1e-6, atol=0)
    # and the gradients agree too
    x1 = logits.clone().requires_grad_()
    x2 = logits.clone().requires_grad_()
    loss(x1, label).backward()
    F.cross_entropy(x2, label, ignore_index=255).backward()
    torch.testing.assert_close(x1.grad, x2.grad)


@pytest.mark.parametrize('k,expected', [(7, 1.22541), (2, 0.08664)])
def test_uniform_logits_reference_values(k, expected):
    # FCtL's focal loss (paper Sec. 3.5): uniform logits, gamma=3 -> ((k-1)/k)^3 ln k
    loss = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=3.0))
    value = loss(torch.zeros(2, k, 4, 4), torch.randint(0, k, (2, 4, 4)))
    assert abs(value.item() - expected) < 1e-5
    assert math.isclose(value.item(), ((k - 1) / k)**3 * math.log(k), rel_tol=1e-6)


def test_confident_correct_prediction_is_near_zero_and_down_weighted():
    label = torch.randint(0, 4, (1, 5, 5))
    logits = F.one_hot(label, 4).permute(0, 3, 1, 2).float() * 30
    loss = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=2.0))
    assert 0 <= loss(logits, label).item() < 1e-12
    # focusing: an easy pixel (p_t = 0.9) is down-weighted by (1 - 0.9)^2 = 0.01 relative to CE
    logit = torch.tensor([[math.log(9.0), 0.0]]).view(1, 2, 1, 1)
    tgt = torch.zeros(1, 1, 1, dtype=torch.long)
    ce = F.cross_entropy(logit, tgt)
    torch.testing.assert_close(loss(logit, tgt), 0.01 * ce)


def test_matches_naive_reference_with_alpha_and_class_weight():
    logits, label = _inputs(n=1, c=3, h=4, w=5, seed=1)
    alpha = [0.25, 0.5, 1.0]
    cw = [1.0, 2.0, 3.0]
    loss = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=2.0, alpha=alpha, class_weight=cw))
    ref = _naive(logits, label, 2.0, alpha=alpha, class_weight=cw)
    assert math.isclose(loss(logits, label).item(), ref, rel_tol=1e-5)
    # a scalar alpha scales the loss and does not enter the denominator
    plain = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=2.0))
    scaled = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=2.0, alpha=0.25, loss_weight=2.0))
    torch.testing.assert_close(scaled(logits, label), 0.5 * plain(logits, label))
    assert math.isclose(plain(logits, label).item(), _naive(logits, label, 2.0), rel_tol=1e-5)


def test_ignore_index_mean_over_valid_pixels_and_reductions():
    logits, label = _inputs(seed=2)
    loss = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=2.0))
    per_pixel = loss(logits, label, reduction_override='none')
    assert per_pixel.shape == label.shape
    assert torch.all(per_pixel[label == 255] == 0)
    valid = label != 255
    torch.testing.assert_close(loss(logits, label), per_pixel[valid].mean())
    torch.testing.assert_close(loss(logits, label, reduction_override='sum'), per_pixel.sum())
    # changing logits at ignored pixels changes nothing
    logits2 = logits.clone()
    logits2[0, :, :2] = 100.0
    torch.testing.assert_close(loss(logits2, label), loss(logits, label))
    # the ignore_index passed by the decode head wins over the constructor's
    label_b = label.clone()
    label_b[label == 255] = 4
    label_b[1, 0] = 3
    torch.testing.assert_close(
        loss(logits, label_b, ignore_index=3), per_pixel.new_tensor(_naive(logits, label_b, 2.0, ignore_index=3)))
    # all pixels ignored: zero, not NaN, and still differentiable
    x = logits.clone().requires_grad_()
    out = loss(x, torch.full_like(label, 255))
    out.backward()
    assert out.item() == 0.0 and torch.all(x.grad == 0)


def test_pixel_weight_scales_terms_not_denominator():
    logits, label = _inputs(seed=3)
    loss = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=2.0))
    weight = torch.rand(label.shape, generator=torch.Generator().manual_seed(0))
    per_pixel = loss(logits, label, reduction_override='none')
    expected = (per_pixel * weight).sum() / (label != 255).sum()
    torch.testing.assert_close(loss(logits, label, weight=weight), expected)


def test_invalid_labels_and_arguments_raise():
    loss = MODELS.build(dict(type='SoftmaxFocalLoss'))
    with pytest.raises(ValueError, match=r'labels must lie in \[0, 3\)'):
        loss(torch.zeros(1, 3, 2, 2), torch.full((1, 2, 2), 7))
    with pytest.raises(ValueError, match='alpha has 2 entries'):
        MODELS.build(dict(type='SoftmaxFocalLoss', alpha=[1, 2]))(torch.zeros(1, 3, 2, 2),
                                                                   torch.zeros(1, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match='gamma'):
        MODELS.build(dict(type='SoftmaxFocalLoss', gamma=-1))


def test_decode_head_uses_it_under_its_loss_name():
    head = MODELS.build(dict(
        type='FCNHead', in_channels=8, channels=4, num_convs=1, num_classes=3, concat_input=False,
        norm_cfg=None, loss_decode=[dict(type='SoftmaxFocalLoss', gamma=0.0, loss_name='loss_focal'),
                                    dict(type='CrossEntropyLoss', loss_weight=1.0, avg_non_ignore=True)]))
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    torch.manual_seed(0)
    samples = []
    for _ in range(2):
        s = SegDataSample()
        gt = torch.randint(0, 3, (1, 16, 16))
        gt[0, 0] = 255
        s.gt_sem_seg = PixelData(data=gt)
        s.set_metainfo(dict(img_shape=(16, 16), pad_shape=(16, 16)))
        samples.append(s)
    losses = head.loss([torch.randn(2, 8, 8, 8)], samples, train_cfg=None)
    assert set(losses) >= {'loss_focal', 'loss_ce', 'acc_seg'}
    # gamma=0 with the head's ignore_index (255): the same value as mmseg's CE averaged over non-ignored pixels
    torch.testing.assert_close(losses['loss_focal'], losses['loss_ce'])
    losses['loss_focal'].backward()
    assert head.conv_seg.weight.grad is not None and torch.isfinite(head.conv_seg.weight.grad).all()

"""SoftCrossEntropyLoss and MultiClassDiceLoss (D2LS paper Eqs. 2-4; the released code's CE and Dice)."""
import math

import torch
import torch.nn.functional as F

import rsseg_ext  # noqa: F401
from mmseg.registry import MODELS


def test_soft_ce_uniform_logits_give_log_n():
    for eps in (0.0, 0.05, 0.5):
        loss = MODELS.build(dict(type='SoftCrossEntropyLoss', smooth_factor=eps))
        val = loss(torch.zeros(2, 5, 4, 4), torch.randint(0, 5, (2, 4, 4)))
        assert abs(val.item() - math.log(5)) < 1e-6


def test_soft_ce_ignored_pixels_count_in_denominator():
    loss = MODELS.build(dict(type='SoftCrossEntropyLoss'))
    target = torch.randint(0, 4, (2, 4, 4))
    target[:, :2] = 255
    assert abs(loss(torch.zeros(2, 4, 4, 4), target).item() - 0.5 * math.log(4)) < 1e-6
    avg = MODELS.build(dict(type='SoftCrossEntropyLoss', avg_non_ignore=True))
    assert abs(avg(torch.zeros(2, 4, 4, 4), target).item() - math.log(4)) < 1e-6


def test_soft_ce_eps0_matches_torch_and_smoothing_formula():
    torch.manual_seed(0)
    pred, target = torch.randn(2, 3, 5, 5), torch.randint(0, 3, (2, 5, 5))
    target[0, 0] = 255
    loss = MODELS.build(dict(type='SoftCrossEntropyLoss', smooth_factor=0.0, loss_weight=2.0))
    ref = F.cross_entropy(pred, target, ignore_index=255, reduction='sum') / target.numel()
    torch.testing.assert_close(loss(pred, target), 2 * ref)
    eps = 0.05
    logp = pred.log_softmax(1)
    valid = target != 255
    t = torch.where(valid, target, 0)
    manual = (1 - eps) * -logp.gather(1, t[:, None])[:, 0] + eps / 3 * -logp.sum(1)
    manual = (manual * valid).sum() / target.numel()
    torch.testing.assert_close(MODELS.build(dict(type='SoftCrossEntropyLoss'))(pred, target), manual)


def test_dice_perfect_prediction_and_absent_classes():
    dice = MODELS.build(dict(type='MultiClassDiceLoss'))
    assert dice.loss_name == 'loss_dice'
    target = torch.randint(0, 3, (2, 6, 6))
    pred = F.one_hot(target, 3).permute(0, 3, 1, 2).float() * 100 - 50
    assert dice(pred, target).item() < 1e-3
    # one present class predicted perfectly, two absent: 0 (absent terms are 0 but counted), never NaN
    target = torch.zeros(1, 4, 4, dtype=torch.long)
    pred = torch.tensor([50., -50., -50.]).view(1, 3, 1, 1).expand(1, 3, 4, 4)
    val = dice(pred, target)
    assert torch.isfinite(val) and val.item() < 1e-3


def test_dice_ignores_ignored_pixels():
    torch.manual_seed(0)
    dice = MODELS.build(dict(type='MultiClassDiceLoss'))
    target = torch.randint(0, 3, (2, 6, 6))
    target[:, :2] = 255
    pred = torch.randn(2, 3, 6, 6)
    pred2 = pred.clone()
    pred2[:, :, :2] = torch.randn(2, 3, 2, 6) * 10
    torch.testing.assert_close(dice(pred, target), dice(pred2, target))


def test_dice_value_batch_summed():
    dice = MODELS.build(dict(type='MultiClassDiceLoss', smooth=0.0))
    target = torch.tensor([[[0, 1]]])
    pred = torch.zeros(1, 2, 1, 2)  # p = 0.5 everywhere
    # class c: I = 0.5, S = 1 + 1 = 2 -> dice = 0.5, loss = 0.5 for both
    assert abs(dice(pred, target).item() - 0.5) < 1e-6

"""VLAlignLoss (LoVLANet, paper Sec. 2.2 alignment loss)."""
import math

import pytest
import torch
import torch.nn.functional as F

import rsseg_ext  # noqa: F401
from mmseg.registry import MODELS
from rsseg_ext.models.losses.vl_align_loss import VLAlignLoss


def _orthonormal_case(k=6, d=8):
    """Each class region's pixels equal its (one-hot) text embedding."""
    text = torch.eye(k, d)
    gt = torch.arange(k).repeat_interleave(2).view(1, 3, 4)  # every class present
    vis = text[gt].permute(0, 3, 1, 2)  # (1, D, 3, 4)
    return vis, text, gt


@pytest.mark.parametrize('tau,expect', [(1.0, 1.043592), (0.07, 3.1e-6)])
def test_prototype_matches_closed_form(tau, expect):
    vis, text, gt = _orthonormal_case()
    loss = VLAlignLoss(temperature=tau)(vis, text, gt)
    assert loss.item() == pytest.approx(math.log(1 + 5 * math.exp(-1 / tau)), rel=1e-5, abs=2e-7)  # fp32 near 0
    assert loss.item() == pytest.approx(expect, rel=5e-2)


def test_all_ignored_is_zero_not_nan():
    vis = F.normalize(torch.randn(2, 8, 4, 4, requires_grad=True), dim=1)
    gt = torch.full((2, 16, 16), 255)
    for mode in ('prototype', 'pixel'):
        loss = VLAlignLoss(mode=mode)(vis, F.normalize(torch.randn(6, 8), dim=1), gt)
        assert loss.item() == 0. and not torch.isnan(loss)
        loss.backward(retain_graph=True)


def test_pixel_mode_equals_ce_and_ignores_255():
    vis = F.normalize(torch.randn(1, 8, 4, 4), dim=1)
    text = F.normalize(torch.randn(3, 8), dim=1)
    gt = torch.randint(0, 3, (1, 4, 4))
    gt[0, 0] = 255
    loss = VLAlignLoss(mode='pixel', temperature=0.5)(vis, text, gt)
    logits = torch.einsum('bdhw,kd->bkhw', vis, text) / 0.5
    assert loss.item() == pytest.approx(F.cross_entropy(logits, gt, ignore_index=255).item(), rel=1e-5)


def test_prototype_downsamples_gt_and_weights():
    vis, text, gt = _orthonormal_case()
    big = F.interpolate(gt[:, None].float(), scale_factor=4, mode='nearest')[:, 0].long()  # (1, 12, 16)
    a = VLAlignLoss(temperature=1.)(vis, text, gt)
    b = MODELS.build(dict(type='VLAlignLoss', temperature=1., loss_weight=2.))(vis, text, big)
    assert b.item() == pytest.approx(2 * a.item(), rel=1e-5)
    assert VLAlignLoss().loss_name == 'loss_align'
    with pytest.raises(ValueError):
        VLAlignLoss(mode='mean')

"""AuxLogitsLossMixin (D2LS, SCSM, LOGCAN++): every output's losses equal mmseg's own ``BaseDecodeHead`` contract
(an ``FCNHead`` given the same loss configs and pixel sampler), keys ``<prefix>.<loss_name>``; predictions use the
main logits; a wrong number of outputs is refused."""
import pytest
import torch
from mmengine.structures import PixelData

import rsseg_ext  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules
from conftest import one_torch_thread

register_all_modules(init_default_scope=True)
K = 3
BN = dict(type='BN', requires_grad=True)
# keeps only the 200 least confident pixels of 2 x 64 x 64: the loss changes visibly when the sampler is used
OHEM = dict(type='OHEMPixelSampler', thresh=0.4, min_kept=200)
CE = dict(type='CrossEntropyLoss', loss_weight=1.0, avg_non_ignore=True)
PRE_CE = dict(CE, loss_weight=0.8)
D2LS_LOSS = [dict(type='SoftCrossEntropyLoss', smooth_factor=0.05, loss_weight=1.0, loss_name='loss_ce'),
             dict(type='MultiClassDiceLoss', smooth=0.05, loss_weight=1.0, loss_name='loss_dice')]
STATIC = dict(type='SoftCrossEntropyLoss', smooth_factor=0.05, loss_weight=0.4, loss_name='loss_ce_static')
HEADS = {  # head config, its auxiliary-loss argument and config, the key prefix, the auxiliary logits' side
    'd2ls': (dict(type='D2LSHead', in_channels=[8, 16, 32, 64], channels=32, num_heads=2, num_stages=1,
                  loss_decode=D2LS_LOSS, loss_contrast=None), 'loss_static', STATIC, 'static', 64),
    'scsm': (dict(type='SCSMHead', in_channels=64, in_index=3, channels=32, transform_channels=16, num_freqs=4,
                  block_size=7, norm_cfg=BN, loss_decode=CE), 'pre_loss_decode', PRE_CE, 'pre', 32),
    'logcanplus': (dict(type='LOGCANPlusHead', in_channels=[8, 16, 32, 64], in_index=[0, 1, 2, 3], channels=32,
                        num_heads=2, norm_cfg=BN, loss_decode=CE), 'pre_loss_decode', PRE_CE, 'pre', 16),
}


@pytest.fixture(autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


def _samples(b=2, size=64):
    out = []
    for i in range(b):
        lab = torch.randint(0, K, (1, size, size), generator=torch.Generator().manual_seed(i))
        lab[:, :5] = 255
        s = SegDataSample(gt_sem_seg=PixelData(data=lab))
        s.set_metainfo(dict(img_shape=(size, size), pad_shape=(size, size)))
        out.append(s)
    return out


def _build(name, **kw):
    cfg, aux_arg, aux_cfg, _, _ = HEADS[name]
    return MODELS.build(dict(cfg, num_classes=K, **{aux_arg: aux_cfg}, **kw))


def _outputs(name):
    """Random main (64 px) and auxiliary logits; SCSM's and LOGCAN++'s auxiliary ones are coarser, as theirs are,
    so the loss also resizes."""
    g = torch.Generator().manual_seed(3)
    return tuple(3 * torch.randn(2, K, s, s, generator=g) for s in (64, HEADS[name][-1]))


def _reference(loss_cfg, sampler):
    """mmseg's BaseDecodeHead.loss_by_feat (FCNHead only holds the configs)."""
    return MODELS.build(dict(type='FCNHead', in_channels=4, channels=4, num_convs=0, concat_input=False,
                             num_classes=K, loss_decode=loss_cfg, sampler=sampler))


@pytest.mark.parametrize('sampler', [None, OHEM], ids=['no-sampler', 'ohem'])
@pytest.mark.parametrize('name', sorted(HEADS))
def test_losses_equal_mmseg_base_head(name, sampler):
    cfg, _, aux_cfg, prefix, _ = HEADS[name]
    head = _build(name, sampler=sampler)
    main, aux = _outputs(name)
    samples = _samples()
    with torch.no_grad():
        got = head.loss_by_feat((main, aux), samples)
        ref_main = _reference(cfg['loss_decode'], sampler).loss_by_feat(main, samples)
        ref_aux = _reference(aux_cfg, sampler).loss_by_feat(aux, samples)
    expected = dict(ref_main, **{f'{prefix}.{k}': v for k, v in ref_aux.items()})
    assert set(got) == set(expected)
    for k in expected:
        torch.testing.assert_close(got[k], expected[k], rtol=1e-6, atol=1e-6, msg=k)
    if sampler is not None:  # the sampler really weighs the pixels (it was once silently dropped by D2LS)
        plain = _reference(aux_cfg, None).loss_by_feat(aux, samples)
        assert all((plain[k] - ref_aux[k]).abs() > 1e-3 for k in plain if 'loss' in k)


@pytest.mark.parametrize('name', sorted(HEADS))
def test_wrong_number_of_outputs_is_refused(name):
    head = _build(name)
    main, aux = _outputs(name)
    with pytest.raises(ValueError, match='1 auxiliary logits'):
        head.loss_by_feat(main, _samples())
    with pytest.raises(ValueError, match='got 2 auxiliary'):
        head.loss_by_feat((main, aux, aux), _samples())


@pytest.mark.parametrize('name', sorted(HEADS))
def test_predict_by_feat_uses_the_main_logits(name):
    head = _build(name)
    main, aux = _outputs(name)
    metas = [dict(img_shape=(64, 64), pad_shape=(64, 64))] * 2
    torch.testing.assert_close(head.predict_by_feat((main, aux), metas), main)
    torch.testing.assert_close(head.predict_by_feat(main, metas), main)


def test_bad_loss_config_is_refused():
    with pytest.raises(TypeError, match='pre_loss_decode must be a dict or a list of dicts'):
        MODELS.build(dict(HEADS['scsm'][0], num_classes=K, pre_loss_decode='CrossEntropyLoss'))

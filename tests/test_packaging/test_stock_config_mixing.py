"""Our losses as drop-in replacements in stock mmseg configs, and the mixing snippet of docs/get_started.md.

References: mmseg's own ``CrossEntropyLoss`` (``avg_non_ignore`` semantics) and torch's ``F.cross_entropy``
(``weight=`` mean, ``label_smoothing``); the stock ``loss_decode`` dicts come from mmseg's shipped configs.
"""
import glob
import os.path as osp
import re

import pytest
import torch
import torch.nn.functional as F
from conftest import REPO_ROOT, one_torch_thread
from mmengine.config import Config

import rsseg_ext  # noqa: F401
from mmseg.models.losses import CrossEntropyLoss
from mmseg.registry import MODELS

PIXEL_LOSSES = ('SoftmaxFocalLoss', 'SoftCrossEntropyLoss', 'MultiClassDiceLoss')


def _stock_softmax_ce_dicts() -> list:
    """Every softmax ``CrossEntropyLoss`` dict in mmseg's shipped ``_base_/models`` configs."""
    import mmseg
    root = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', '_base_', 'models')
    found = []

    def walk(obj):
        if isinstance(obj, dict):
            if obj.get('type') == 'CrossEntropyLoss' and not obj.get('use_sigmoid') and not obj.get('use_mask'):
                found.append(dict(obj))
            for v in obj.values():
                walk(v)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                walk(v)

    for path in sorted(glob.glob(osp.join(root, '*.py'))):
        walk(Config.fromfile(path).to_dict())
    return found


def test_stock_loss_dicts_take_our_losses_by_type_alone():
    stock = _stock_softmax_ce_dicts()
    assert len(stock) > 20 and {'use_sigmoid', 'loss_weight'} <= set().union(*stock)
    for cfg in stock:
        for name in PIXEL_LOSSES:
            loss = MODELS.build(dict(cfg, type=name))
            assert type(loss).__name__ == name
            assert loss.loss_weight == cfg.get('loss_weight', 1.0)
            assert loss.loss_name == cfg.get('loss_name', loss.loss_name)


def _logits_and_labels(c=5):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, c, 9, 11, generator=g) * 3
    label = torch.randint(0, c, (2, 9, 11), generator=g)
    label[0, :3] = 255  # ignored pixels
    return logits, label


@pytest.mark.parametrize('avg_non_ignore', [True, False])
def test_focal_gamma0_and_soft_ce_eps0_equal_mmseg_cross_entropy(avg_non_ignore):
    logits, label = _logits_and_labels()
    ref = CrossEntropyLoss(avg_non_ignore=avg_non_ignore, loss_weight=0.7)(logits, label, ignore_index=255)
    focal = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=0.0, use_sigmoid=False, loss_weight=0.7,
                              avg_non_ignore=avg_non_ignore, loss_name='loss_ce'))
    soft = MODELS.build(dict(type='SoftCrossEntropyLoss', smooth_factor=0.0, use_sigmoid=False, loss_weight=0.7,
                             avg_non_ignore=avg_non_ignore))
    torch.testing.assert_close(focal(logits, label, ignore_index=255), ref)
    torch.testing.assert_close(soft(logits, label, ignore_index=255), ref)
    # the two denominators really differ on this input (the test would not notice a swapped flag otherwise)
    other = CrossEntropyLoss(avg_non_ignore=not avg_non_ignore, loss_weight=0.7)(logits, label, ignore_index=255)
    assert not torch.allclose(ref, other)


def test_class_weight_is_torch_weighted_mean():
    logits, label = _logits_and_labels()
    cw = [0.5, 2.0, 1.0, 3.0, 0.25]
    w = torch.tensor(cw)
    # with class weights the mean is torch's weighted mean whatever avg_non_ignore says (mmseg 1.2.2's own
    # CrossEntropyLoss raises IndexError on ignored pixels there, so torch is the reference)
    for avg_non_ignore in (True, False):
        focal = MODELS.build(dict(type='SoftmaxFocalLoss', gamma=0.0, class_weight=cw, avg_non_ignore=avg_non_ignore))
        torch.testing.assert_close(focal(logits, label, ignore_index=255),
                                   F.cross_entropy(logits, label, weight=w, ignore_index=255))
        soft = MODELS.build(dict(type='SoftCrossEntropyLoss', smooth_factor=0.1, class_weight=cw,
                                 avg_non_ignore=avg_non_ignore))
        torch.testing.assert_close(soft(logits, label, ignore_index=255),
                                   F.cross_entropy(logits, label, weight=w, ignore_index=255, label_smoothing=0.1))
    dice_w = MODELS.build(dict(type='MultiClassDiceLoss', class_weight=[2.0] * 5))
    dice = MODELS.build(dict(type='MultiClassDiceLoss'))
    torch.testing.assert_close(dice_w(logits, label), 2 * dice(logits, label))


@pytest.mark.parametrize('cfg, error, words', [
    (dict(type='SoftmaxFocalLoss', use_sigmoid=True), ValueError, ['SoftmaxFocalLoss', 'use_sigmoid=True']),
    (dict(type='SoftCrossEntropyLoss', use_mask=True), ValueError, ['SoftCrossEntropyLoss', 'use_mask=True']),
    (dict(type='MultiClassDiceLoss', naive_dice=True), TypeError, ['MultiClassDiceLoss', 'naive_dice=True']),
    (dict(type='MultiClassDiceLoss', reduction='none'), ValueError, ["reduction='none'"]),
    (dict(type='MultiClassDiceLoss', avg_non_ignore=False), ValueError, ['avg_non_ignore=False']),
    (dict(type='OpenVocabBCELoss', use_sigmoid=False), ValueError, ['OpenVocabBCELoss', 'use_sigmoid=False']),
    (dict(type='OpenVocabBCELoss', class_weight=[1.0]), TypeError, ['class_weight', 'vocabulary']),
    (dict(type='DictContrastiveLoss', use_sigmoid=False), TypeError, ['DictContrastiveLoss', 'use_sigmoid']),
    (dict(type='VLAlignLoss', avg_non_ignore=True), TypeError, ['VLAlignLoss', 'avg_non_ignore']),
])
def test_arguments_that_do_not_apply_are_refused_by_name(cfg, error, words):
    with pytest.raises(error) as e:
        MODELS.build(cfg)
    msg = str(e.value)
    assert all(w in msg for w in words), msg
    assert 'unexpected keyword' not in msg and '\n' not in msg


def test_accepted_arguments_of_the_non_pixel_losses():
    bce = MODELS.build(dict(type='OpenVocabBCELoss', use_sigmoid=True, reduction='mean', loss_name='loss_x'))
    assert bce.loss_name == 'loss_x'
    assert MODELS.build(dict(type='VLAlignLoss', loss_weight=0.5, loss_name='loss_a')).loss_weight == 0.5


def _docs_python_block(marker: str) -> str:
    text = open(osp.join(REPO_ROOT, 'docs', 'get_started.md'), encoding='utf-8').read()
    blocks = [b for b in re.findall(r'```python\n(.*?)```', text, re.S) if marker in b]
    assert len(blocks) == 1, f'expected one python block with {marker!r} in docs/get_started.md'
    return blocks[0]


def test_get_started_mixing_snippet_runs_as_written(tmp_path):
    """The snippet builds and trains one step: a stock deeplabv3+ whose CrossEntropyLoss became ours by ``type``."""
    path = tmp_path / 'mixed.py'
    path.write_text(_docs_python_block('SoftmaxFocalLoss'))
    cfg = Config.fromfile(str(path))
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmseg.registry import METRICS
    from mmseg.structures import SegDataSample
    from mmengine.structures import PixelData
    init_default_scope('mmseg')
    cfg.model.backbone.depth = 18  # same code path, a smaller network for a CPU test
    cfg.model.backbone.pop('init_cfg', None)
    cfg.model.pretrained = None
    cfg.model.decode_head.in_channels, cfg.model.decode_head.c1_in_channels = 512, 64
    cfg.model.decode_head.channels, cfg.model.decode_head.c1_channels = 16, 8
    cfg.model.auxiliary_head.in_channels, cfg.model.auxiliary_head.channels = 256, 16
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    assert type(model.decode_head.loss_decode).__name__ == 'SoftmaxFocalLoss'
    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(2):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, 19, (1, 64, 64), generator=g))
        s.set_metainfo(dict(img_shape=(64, 64), pad_shape=(64, 64), ori_shape=(64, 64)))
        samples.append(s)
    with one_torch_thread():
        losses = model.loss(torch.randn(2, 3, 64, 64, generator=g), samples)
    # the decode head's term is named by our loss (loss_focal), the untouched auxiliary head keeps loss_ce
    assert torch.isfinite(losses['decode.loss_focal']) and torch.isfinite(losses['aux.loss_ce'])
    metric = METRICS.build(cfg.val_evaluator)
    assert type(metric).__name__ == 'RSSegMetric'

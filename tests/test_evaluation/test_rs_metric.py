"""RSSegMetric against hand-computed confusion matrices; excluded classes; prediction writing without mmseg's +1."""
import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from PIL import Image

import rsseg_ext  # noqa: F401
from mmseg.registry import METRICS


def _samples_from_confusion(cm, n_images=2, ignore_pixels=3, width=5):
    """Data samples whose pixels realise the confusion matrix ``cm`` (rows = ground truth, cols = prediction).

    The pixels are shuffled, split over ``n_images`` images and padded with ignored ground truth (255) whose
    prediction is class 0, so ignoring and accumulation over images are exercised too.
    """
    gt, pred = [], []
    for i, row in enumerate(cm):
        for j, count in enumerate(row):
            gt += [i] * int(count)
            pred += [j] * int(count)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(gt))
    gt, pred = np.array(gt)[order], np.array(pred)[order]
    samples = []
    for part_gt, part_pred in zip(np.array_split(gt, n_images), np.array_split(pred, n_images)):
        pad = ignore_pixels + (-(len(part_gt) + ignore_pixels)) % width
        part_gt = np.concatenate([part_gt, np.full(pad, 255)]).reshape(-1, width)
        part_pred = np.concatenate([part_pred, np.zeros(pad, dtype=int)]).reshape(-1, width)
        samples.append(dict(
            img_path=f'img_{len(samples)}.tif',
            pred_sem_seg=dict(data=torch.from_numpy(part_pred)[None]),
            gt_sem_seg=dict(data=torch.from_numpy(part_gt)[None])))
    return samples


def _evaluate(cm, classes, **cfg):
    metric = METRICS.build(dict(type='RSSegMetric', **cfg))
    metric.dataset_meta = dict(classes=classes)
    samples = _samples_from_confusion(cm)
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def _pct(x):
    return round(100 * x, 2)


def test_two_class_kappa_example():
    # by hand: [[50,10],[5,35]] -> OA 0.85, p_e 0.51, kappa 0.693878, IoU [50/65, 35/50]
    res = _evaluate([[50, 10], [5, 35]], ('a', 'b'))
    assert res['OA'] == res['aAcc'] == 85.0
    assert res['Kappa'] == _pct((0.85 - 0.51) / (1 - 0.51)) == 69.39
    assert res['mIoU'] == _pct((50 / 65 + 35 / 50) / 2)
    assert res['mF1'] == _pct((100 / 115 + 70 / 85) / 2)          # F1 = 2TP / (2TP + FP + FN)
    assert res['mPrecision'] == _pct((50 / 55 + 35 / 45) / 2)     # column sums 55, 45
    assert res['mRecall'] == res['mAcc'] == _pct((50 / 60 + 35 / 40) / 2)  # row sums 60, 40
    assert res['fwIoU'] == _pct(0.6 * 50 / 65 + 0.4 * 35 / 50)


def test_class_predicted_but_absent_from_ground_truth():
    # class 2 never occurs in the GT but is predicted once; class 3 occurs nowhere
    cm = [[3, 1, 1, 0],
          [0, 2, 0, 0],
          [0, 0, 0, 0],
          [0, 0, 0, 0]]
    res = _evaluate(cm, ('a', 'b', 'c', 'd'))
    # IoU = [3/5, 2/3, 0, nan]: class 2 counts as 0, class 3 is skipped
    assert res['mIoU'] == _pct((3 / 5 + 2 / 3 + 0) / 3)
    # recall (mAcc) = [3/5, 1, nan, nan]: only classes with GT count
    assert res['mAcc'] == _pct((3 / 5 + 1) / 2)
    # F1 = [6/8, 4/5, 0, nan]
    assert res['mF1'] == _pct((6 / 8 + 4 / 5 + 0) / 3)
    assert res['OA'] == _pct(5 / 7)
    # p_e = (3*5 + 3*2 + 1*0) / 7^2 = 3/7 -> kappa = (5/7 - 3/7) / (4/7) = 0.5
    assert res['Kappa'] == 50.0
    assert res['fwIoU'] == _pct((5 * 3 / 5 + 2 * 2 / 3) / 7)


def test_class_present_but_never_predicted_counts_as_zero():
    # class 1 is in the GT but never predicted: IoU, F1 and precision 0 (mmseg would give NaN F1/precision
    # and silently drop the class from mFscore/mPrecision)
    res = _evaluate([[4, 0], [2, 0]], ('a', 'b'))
    assert res['mIoU'] == _pct((4 / 6 + 0) / 2)
    assert res['mF1'] == _pct((8 / 10 + 0) / 2)
    assert res['mPrecision'] == _pct((4 / 6 + 0) / 2)
    assert res['mRecall'] == _pct((1 + 0) / 2)


def _confusion_reference(cm, include):
    """Metrics straight from the confusion matrix (independent of the histogram accumulation)."""
    cm = np.asarray(cm, dtype=float)
    tp = np.diag(cm)
    fp = cm.sum(0) - tp
    fn = cm.sum(1) - tp
    iou = tp / (tp + fp + fn)
    f1 = 2 * tp / (2 * tp + fp + fn)
    total = cm.sum()
    p_e = (cm.sum(0) * cm.sum(1)).sum() / total**2
    oa = tp.sum() / total
    return dict(mIoU=_pct(iou[include].mean()), mF1=_pct(f1[include].mean()), OA=_pct(oa),
                Kappa=_pct((oa - p_e) / (1 - p_e)),
                mAcc=_pct((tp / cm.sum(1))[include].mean()),
                mPrecision=_pct((tp / cm.sum(0))[include].mean()))


POTSDAM = ('impervious_surface', 'building', 'low_vegetation', 'tree', 'car', 'clutter')
CM6 = [[40, 2, 3, 1, 0, 4],
       [3, 50, 0, 2, 1, 2],
       [2, 1, 30, 6, 0, 3],
       [0, 2, 5, 35, 0, 1],
       [1, 0, 0, 0, 9, 2],
       [5, 3, 2, 1, 1, 6]]


@pytest.mark.parametrize('exclude', [['clutter'], ['Clutter'], [5], [-1], 'clutter'])
def test_clutter_excluded_from_means_but_not_from_oa(exclude):
    res = _evaluate(CM6, POTSDAM, exclude_classes=exclude)
    include = np.array([True] * 5 + [False])
    ref = _confusion_reference(CM6, include)
    for key, val in ref.items():
        assert res[key] == val, key
    # the excluded class really changes the means, and OA/Kappa are the same as without exclusion
    full = _evaluate(CM6, POTSDAM)
    assert full['mIoU'] == _confusion_reference(CM6, np.ones(6, bool))['mIoU'] != res['mIoU']
    assert (full['OA'], full['Kappa']) == (res['OA'], res['Kappa'])


def test_inria_style_background_excluded():
    # FCtL's convention (docs/methods/fctl.md): exclude class 0 of 2 -> mIoU = IoU(1), mF1 = 2 IoU / (1 + IoU)
    cm = [[70, 6], [4, 20]]
    res = _evaluate(cm, ('background', 'building'), exclude_classes=[0], iou_metrics=['mIoU', 'mFscore'])
    iou = 20 / 30
    assert res['mIoU'] == _pct(iou)
    assert res['mF1'] == _pct(2 * iou / (1 + iou))
    assert res['OA'] == 90.0


def test_per_class_table_marks_excluded_class(tmp_path):
    log_file = tmp_path / 'metric.log'
    MMLogger.get_instance('rs_metric_table_test', log_file=str(log_file))  # becomes the current logger
    _evaluate(CM6, POTSDAM, exclude_classes=['clutter'])
    text = log_file.read_text()
    assert 'in mean' in text and 'F1' in text and 'Precision' in text
    rows = {line.split('|')[1].strip(): line for line in text.splitlines() if line.startswith('|')}
    assert rows['clutter'].rstrip(' |').endswith('no')
    assert rows['car'].rstrip(' |').endswith('yes')
    # building: TP 50, GT row sum 58, predicted column sum 58 -> IoU 50 / 66, F1 100 / 116
    assert f'| {_pct(50 / 66)} ' in rows['building'] and f'| {_pct(100 / 116)} ' in rows['building']
    assert "excluded from the means: ['clutter']" in text


def test_bad_exclusions_raise():
    with pytest.raises(ValueError, match="'water' is not one of the dataset classes"):
        _evaluate(CM6, POTSDAM, exclude_classes=['water'])
    with pytest.raises(ValueError, match='out of range for 6 classes'):
        _evaluate(CM6, POTSDAM, exclude_classes=[6])
    with pytest.raises(ValueError, match='excludes every class'):
        _evaluate([[1, 0], [0, 1]], ('a', 'b'), exclude_classes=[0, 1])
    with pytest.raises(ValueError, match='set output_dir'):
        METRICS.build(dict(type='RSSegMetric', format_only=True))


@pytest.mark.parametrize('label_offset', [0, 1])
def test_written_predictions_have_no_implicit_offset(tmp_path, label_offset):
    out = tmp_path / 'pred'
    metric = METRICS.build(dict(type='RSSegMetric', format_only=True, output_dir=str(out),
                                label_offset=label_offset))
    metric.dataset_meta = dict(classes=tuple('abcdefg'))
    pred = torch.arange(7).repeat(3, 1)[None]  # LoveDA-like ids 0..6
    # test images carry reduce_zero_label=True in LoveDA configs; mmseg's IoUMetric would add 1 here
    metric.process({}, [dict(img_path='/data/test/4567.png', reduce_zero_label=True,
                             pred_sem_seg=dict(data=pred))])
    assert metric.evaluate(1) == {}
    written = np.array(Image.open(out / '4567.png'))
    assert written.dtype == np.uint8
    np.testing.assert_array_equal(written, pred[0].numpy() + label_offset)


def test_areas_to_metrics_fractions_unrounded():
    from rsseg_ext.evaluation import RSSegMetric
    cm = np.asarray(CM6, dtype=float)
    vals = RSSegMetric.areas_to_metrics(np.diag(cm), cm.sum(0), cm.sum(1))
    ref_iou = np.diag(cm) / (cm.sum(0) + cm.sum(1) - np.diag(cm))
    np.testing.assert_allclose(vals['IoU'], ref_iou)
    assert vals['mIoU'] == pytest.approx(ref_iou.mean())
    assert vals['OA'] == pytest.approx(np.trace(cm) / cm.sum())

"""FCtL's metric conventions through RSSegMetric (paper Table 2): Inria "mIoU" = building IoU, DeepGlobe means
without "unknown"."""
import torch

import rsseg_ext  # noqa: F401
from rsseg_ext.datasets.deepglobe import DeepGlobeLandCoverDataset
from rsseg_ext.datasets.inria import InriaAerialDataset
from rsseg_ext.evaluation.metrics.rs_metric import RSSegMetric


def _run(metric, classes, pred, gt):
    metric.dataset_meta = dict(classes=classes)
    metric.process({}, [dict(pred_sem_seg=dict(data=pred[None]), gt_sem_seg=dict(data=gt[None]))])
    return metric.compute_metrics(metric.results)


def test_inria_miou_is_building_iou_and_f1_follows():
    g = torch.Generator().manual_seed(0)
    gt = (torch.rand(64, 64, generator=g) > 0.7).long()
    pred = gt.clone()
    pred[:20] = (torch.rand(20, 64, generator=g) > 0.5).long()
    res = _run(RSSegMetric(exclude_classes=['background']), InriaAerialDataset.METAINFO['classes'], pred, gt)
    inter = ((pred == 1) & (gt == 1)).sum().item()
    union = ((pred == 1) | (gt == 1)).sum().item()
    iou = inter / union
    assert abs(res['mIoU'] - round(100 * iou, 2)) < 1e-6
    assert abs(res['mF1'] - round(100 * 2 * iou / (1 + iou), 2)) < 0.011  # F1 = 2 IoU / (1 + IoU)
    assert abs(res['OA'] - round(100 * (pred == gt).float().mean().item(), 2)) < 1e-6  # all pixels


def test_deepglobe_unknown_changes_neither_mean():
    g = torch.Generator().manual_seed(1)
    gt = torch.randint(1, 7, (64, 64), generator=g)
    pred = torch.where(torch.rand(64, 64, generator=g) > 0.3, gt, torch.randint(1, 7, (64, 64), generator=g))
    classes = DeepGlobeLandCoverDataset.METAINFO['classes']
    base = _run(RSSegMetric(exclude_classes=['unknown']), classes, pred, gt)
    gt2, pred2 = gt.clone(), pred.clone()
    gt2[:8], pred2[:8] = 0, 0  # unknown pixels, perfectly predicted, would raise a 7-class mean
    pred2[8:12, :10] = 0  # and some wrong "unknown" predictions
    other = _run(RSSegMetric(exclude_classes=['unknown']), classes, pred2, gt2)
    ref = _run(RSSegMetric(), classes, pred2, gt2)
    assert ref['mIoU'] != other['mIoU']
    # the mean over classes 1..6 equals the mean of their own IoUs
    m = RSSegMetric(exclude_classes=[0])
    m.dataset_meta = dict(classes=classes)
    inter, union, pa, la = m.intersect_and_union(pred2, gt2, 7, 255)
    iou = (inter / union)[1:]
    f1 = (2 * inter / (pa + la))[1:]
    assert abs(other['mIoU'] - round(100 * iou.mean().item(), 2)) < 1e-6
    assert abs(other['mF1'] - round(100 * f1.mean().item(), 2)) < 1e-6
    assert base['mIoU'] > 0

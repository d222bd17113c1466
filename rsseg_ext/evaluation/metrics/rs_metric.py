"""The package's one segmentation metric: per-class IoU / F1 / precision / recall, OA, Kappa and fwIoU, with
classes that are shown but left out of the means (Potsdam/Vaihingen 'clutter', DeepGlobe 'unknown', iSAID
'background', Inria 'background')."""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.logging import MMLogger, print_log
from PIL import Image
from prettytable import PrettyTable

from mmseg.evaluation.metrics import IoUMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class RSSegMetric(IoUMetric):
    """Remote-sensing segmentation metric on top of mmseg's :class:`IoUMetric` accumulation.

    ``process`` accumulates, over all images, the per-class histograms of mmseg's ``intersect_and_union``
    (pixels whose ground truth equals ``ignore_index`` are dropped first). With ``I_c`` = true positives,
    ``P_c`` = pixels predicted as c, ``G_c`` = ground-truth pixels of c and ``T = sum_c G_c``:

    * ``IoU_c = I_c / (P_c + G_c - I_c)``; ``F1_c = 2 I_c / (P_c + G_c)`` (= Dice = 2PR/(P+R));
      ``Precision_c = I_c / P_c``; ``Recall_c = I_c / G_c``. Unlike mmseg's ``mFscore``/``mPrecision``, a class
      that occurs in the ground truth but is never predicted gets F1 = precision = 0, not NaN.
    * ``mIoU``, ``mF1`` (also reported under mmseg's names ``mFscore`` and ``mDice``: F1 is the F-score with
      beta=1 and the Dice coefficient), ``mPrecision``, ``mRecall`` (= mmseg's ``mAcc``, also under that name) and
      ``fwIoU = sum_c G_c IoU_c / sum_c G_c``: over the classes *not* in ``exclude_classes``, ignoring NaN
      (a class absent from both ground truth and prediction has NaN IoU/F1 and does not count, as in mmseg
      and Detectron2).
    * ``OA = sum_c I_c / T`` (= mmseg's ``aAcc``, also reported under that name) and Cohen's
      ``Kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o = OA``, ``p_e = sum_c P_c G_c / T^2``: over **all** valid
      pixels, excluded classes included (the D2LS/UNetFormer and FCtL protocols).

    All values are percentages rounded to 2 decimals, as in mmseg. The per-class table (IoU, F1, Precision,
    Recall) is logged with every class, excluded ones marked ``no`` in the ``in mean`` column.

    Args:
        ignore_index: ground-truth value that is not evaluated.
        exclude_classes: class names (matched case-insensitively) or indices left out of the means, e.g.
            ``['clutter']`` for Potsdam/Vaihingen, ``['unknown']`` or ``[0]`` for DeepGlobe, ``[0]`` for Inria (then
            mIoU is the building IoU).
        label_offset: added to predictions written by ``output_dir``/``format_only``. mmseg's ``IoUMetric`` adds 1
            whenever the sample has ``reduce_zero_label=True``; this metric never does that on its own: the
            LoveDA server wants 0..6 (``label_offset=0``), ADE20K-style servers want ``label_offset=1``.
        nan_to_num: if set, NaN per-class values are replaced by it before averaging (mmseg semantics).
        collect_device: ``'cpu'`` or ``'gpu'``, for gathering results across ranks.
        output_dir: if set, write each prediction as ``<output_dir>/<img basename>.png`` (uint8).
        format_only: only write predictions (test sets without ground truth); requires ``output_dir``.
        prefix: prefix of the metric names.
        **kwargs: passed to :class:`IoUMetric`. ``iou_metrics`` is accepted for drop-in compatibility with
            ``IoUMetric`` configs (every metric above is always computed); ``beta`` only as 1 (F1).

    mmseg's key names are kept (``mIoU``, ``mFscore``, ``mPrecision``, ``mRecall``, ``mAcc``, ``mDice``, ``aAcc``),
    so ``save_best='mFscore'`` and log analysis written for ``IoUMetric`` work unchanged.
    """

    def __init__(self,
                 ignore_index: int = 255,
                 exclude_classes: Optional[Sequence[Union[str, int]]] = None,
                 label_offset: int = 0,
                 nan_to_num: Optional[int] = None,
                 collect_device: str = 'cpu',
                 output_dir: Optional[str] = None,
                 format_only: bool = False,
                 prefix: Optional[str] = None,
                 **kwargs) -> None:
        if format_only and not output_dir:
            raise ValueError('RSSegMetric(format_only=True) writes predictions only; set output_dir as well')
        super().__init__(ignore_index=ignore_index, nan_to_num=nan_to_num, collect_device=collect_device,
                         output_dir=output_dir, format_only=format_only, prefix=prefix, **kwargs)
        if self.beta != 1:  # mFscore is reported as F1; another beta would be silently mislabelled
            raise ValueError(f'RSSegMetric reports the F-score with beta=1 (mF1/mFscore); beta={self.beta} is not '
                             "supported (use mmseg's IoUMetric for another beta)")
        if isinstance(exclude_classes, (str, int)):
            exclude_classes = [exclude_classes]
        exclude_classes = list(exclude_classes or [])
        for c in exclude_classes:
            if not isinstance(c, (str, int)) or isinstance(c, bool):
                raise TypeError(f'exclude_classes must hold class names or indices, got {c!r}')
        self.exclude_classes = exclude_classes
        self.label_offset = int(label_offset)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Accumulate the per-class histograms of one batch and optionally write the predictions.

        Args:
            data_batch: the batch from the dataloader (unused).
            data_samples: model outputs with ``pred_sem_seg.data`` (1, H, W) and, unless ``format_only``,
                ``gt_sem_seg.data`` (1, H, W) at the same size.
        """
        num_classes = len(self.dataset_meta['classes'])
        for data_sample in data_samples:
            pred_label = data_sample['pred_sem_seg']['data'].squeeze()
            if not self.format_only:
                label = data_sample['gt_sem_seg']['data'].squeeze().to(pred_label)
                if label.shape != pred_label.shape:
                    raise ValueError(f'prediction {tuple(pred_label.shape)} and ground truth {tuple(label.shape)} '
                                     f'of {data_sample.get("img_path")} differ in size')
                self.results.append(self.intersect_and_union(pred_label, label, num_classes, self.ignore_index))
            if self.output_dir is not None:
                self._write_prediction(pred_label, data_sample)

    def _write_prediction(self, pred_label: torch.Tensor, data_sample: dict) -> None:
        basename = osp.splitext(osp.basename(data_sample['img_path']))[0]
        png_filename = osp.abspath(osp.join(self.output_dir, f'{basename}.png'))
        # no implicit +1 for reduce_zero_label (see label_offset): the coding is the config's explicit choice
        output_mask = pred_label.cpu().numpy().astype(np.int64) + self.label_offset
        if output_mask.size and (output_mask.min() < 0 or output_mask.max() > 255):
            raise ValueError(f'prediction + label_offset={self.label_offset} spans [{output_mask.min()}, '
                             f'{output_mask.max()}], which does not fit an 8-bit PNG ({png_filename})')
        Image.fromarray(output_mask.astype(np.uint8)).save(png_filename)

    def _excluded_indices(self, class_names: Sequence[str]) -> List[int]:
        """Resolve ``exclude_classes`` (names or indices) against the dataset's class names."""
        lowered = [str(n).lower() for n in class_names]
        indices = []
        for c in self.exclude_classes:
            if isinstance(c, int):
                if not -len(class_names) <= c < len(class_names):
                    raise ValueError(f'exclude_classes index {c} is out of range for {len(class_names)} classes '
                                     f'{tuple(class_names)}')
                indices.append(c % len(class_names))
            elif c in class_names:
                indices.append(list(class_names).index(c))
            elif lowered.count(c.lower()) == 1:
                indices.append(lowered.index(c.lower()))
            else:
                raise ValueError(f'exclude_classes name {c!r} is not one of the dataset classes '
                                 f'{tuple(class_names)}')
        if len(set(indices)) >= len(class_names):
            raise ValueError(f'exclude_classes={self.exclude_classes} excludes every class; nothing to average')
        return sorted(set(indices))

    @staticmethod
    def areas_to_metrics(area_intersect: np.ndarray,
                         area_pred_label: np.ndarray,
                         area_label: np.ndarray,
                         include: Optional[np.ndarray] = None,
                         nan_to_num: Optional[float] = None) -> Dict[str, Union[float, np.ndarray]]:
        """Metrics as fractions (not percentages, not rounded) from accumulated per-class areas.

        Args:
            area_intersect: (C,) true positives per class.
            area_pred_label: (C,) predicted pixels per class.
            area_label: (C,) ground-truth pixels per class.
            include: (C,) bool, classes that enter the means; ``None`` = all.
            nan_to_num: replace NaN per-class values by this before averaging.

        Returns:
            Per-class arrays ``IoU``, ``F1``, ``Precision``, ``Recall`` (C,) and scalars ``mIoU``, ``mF1``,
            ``mPrecision``, ``mRecall``, ``fwIoU``, ``OA``, ``Kappa``.
        """
        inter = np.asarray(area_intersect, dtype=np.float64)
        pred = np.asarray(area_pred_label, dtype=np.float64)
        gt = np.asarray(area_label, dtype=np.float64)
        include = np.ones(inter.shape, dtype=bool) if include is None else np.asarray(include, dtype=bool)
        total = gt.sum()
        with np.errstate(divide='ignore', invalid='ignore'):
            per_class = OrderedDict(
                IoU=inter / (pred + gt - inter),
                F1=2 * inter / (pred + gt),
                # a class that is present but never predicted has precision 0, not NaN (mmseg's NaN would drop
                # it from mPrecision and inflate the mean); NaN only for a class absent from both
                Precision=np.where((pred == 0) & (gt > 0), 0.0, inter / pred),
                Recall=inter / gt)
            oa = inter.sum() / total if total > 0 else np.nan
            p_e = (pred * gt).sum() / total**2 if total > 0 else np.nan
            kappa = (oa - p_e) / (1 - p_e) if total > 0 and p_e != 1 else np.nan
        if nan_to_num is not None:
            per_class = OrderedDict((k, np.nan_to_num(v, nan=nan_to_num)) for k, v in per_class.items())

        def masked_nanmean(values: np.ndarray) -> float:
            vals = values[include]
            vals = vals[~np.isnan(vals)]
            return float(vals.mean()) if vals.size else float('nan')

        iou = per_class['IoU'][include]
        weights = gt[include]
        valid = ~np.isnan(iou)
        fw_iou = float((weights[valid] * iou[valid]).sum() / weights[valid].sum()) if weights[valid].sum() > 0 \
            else float('nan')
        out: Dict[str, Union[float, np.ndarray]] = dict(per_class)
        out.update(mIoU=masked_nanmean(per_class['IoU']), mF1=masked_nanmean(per_class['F1']),
                   mPrecision=masked_nanmean(per_class['Precision']), mRecall=masked_nanmean(per_class['Recall']),
                   fwIoU=fw_iou, OA=float(oa), Kappa=float(kappa))
        return out

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute the metrics from the accumulated histograms and log the per-class table.

        Args:
            results: the ``(area_intersect, area_union, area_pred_label, area_label)`` tuples of all images.

        Returns:
            ``mIoU``, ``mF1``, ``mFscore``, ``mDice``, ``mPrecision``, ``mRecall``, ``mAcc``, ``fwIoU``, ``OA``,
            ``aAcc``, ``Kappa`` in percent (2 decimals); empty when ``format_only``.
        """
        logger: MMLogger = MMLogger.get_current_instance()
        if self.format_only:
            logger.info(f'predictions are saved to {self.output_dir}')
            return OrderedDict()
        class_names = list(self.dataset_meta['classes'])
        excluded = self._excluded_indices(class_names)
        include = np.ones(len(class_names), dtype=bool)
        include[excluded] = False

        if not results:
            raise ValueError('RSSegMetric received no results: the evaluation dataloader yielded no samples '
                             'with ground truth')
        columns = tuple(zip(*results))
        area_intersect = sum(columns[0]).numpy()
        area_pred_label = sum(columns[2]).numpy()
        area_label = sum(columns[3]).numpy()
        values = self.areas_to_metrics(area_intersect, area_pred_label, area_label, include, self.nan_to_num)

        def pct(v: float) -> float:
            return float(np.round(v * 100, 2))

        metrics = OrderedDict(
            mIoU=pct(values['mIoU']), mF1=pct(values['mF1']), mFscore=pct(values['mF1']), mDice=pct(values['mF1']),
            mPrecision=pct(values['mPrecision']),
            mRecall=pct(values['mRecall']), mAcc=pct(values['mRecall']), fwIoU=pct(values['fwIoU']),
            OA=pct(values['OA']), aAcc=pct(values['OA']), Kappa=pct(values['Kappa']))

        table = PrettyTable()
        table.add_column('Class', class_names)
        for key in ('IoU', 'F1', 'Precision', 'Recall'):
            table.add_column(key, [pct(v) for v in values[key]])
        table.add_column('in mean', ['yes' if inc else 'no' for inc in include])
        print_log('per class results:', logger)
        print_log('\n' + table.get_string(), logger=logger)
        if excluded:
            print_log(f'means over {int(include.sum())}/{len(class_names)} classes; excluded from the means: '
                      f'{[class_names[i] for i in excluded]} (OA and Kappa use all valid pixels)', logger=logger)
        return metrics

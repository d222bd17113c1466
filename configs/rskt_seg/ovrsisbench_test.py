# OVRSISBench zero-shot protocol (RSKT-Seg paper, Table 1): every model is tested on these 8 datasets ("all" splits),
# each with its own vocabulary, whole-image inference, mIoU / mACC per dataset and their unweighted means
# (m-mIoU / m-mACC, the training set included). Used by tools/ovrsis_benchmark.py:
#   python tools/ovrsis_benchmark.py configs/rskt_seg/rskt-seg_vit-b16_dlrsd.py CHECKPOINT
# The test sets and vocabulary files come from configs/_base_/datasets/ovrsisbench.py; the model config's
# test_pipeline (640 short side) replaces the sets' own pipeline.
_base_ = ['../_base_/datasets/ovrsisbench.py']
benchmark_datasets = ['dlrsd', 'isaid', 'loveda', 'potsdam', 'uavid', 'udd5', 'vaihingen', 'vdd']
benchmark_titles = dict(dlrsd='DLRSD', isaid='iSAID', loveda='LoveDA', potsdam='Potsdam', uavid='UAVid',
                        udd5='UDD5', vaihingen='Vaihingen', vdd='VDD', loveda7='LoveDA-7')
# mIoU (classes with GT or prediction) and mAcc (classes with GT) as Detectron2's SemSegEvaluator; no class excluded
benchmark_evaluator = dict(type='RSSegMetric', iou_metrics=['mIoU'], exclude_classes=None)

# RSKT-Seg ViT-B/16, trained on iSAID (15 foreground classes; background -> ignore), N = 3 RS-Fusion layers
# (released checkpoint; the paper text says 2: set model.neck.num_layers=2). 4 GPUs x 2 images, 30k iterations.
_base_ = [
    '../_base_/models/rskt-seg_vit-b16.py', '../_base_/datasets/isaid.py', '../_base_/datasets/ovrsisbench.py',
    '../_base_/default_runtime.py', '../_base_/schedules/rskt_adamw_cosine_30k.py'
]
crop_size = (384, 384)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='Resize', scale=(1333, 384), keep_ratio=True, backend='pillow', interpolation='bilinear'),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2560, 640), keep_ratio=True, backend='pillow', interpolation='bilinear'),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='PackSegInputs')
]
# the 15 foreground classes (mmseg's label_map sends background to 255), OVRSISBench order
isaid_fg = {{_base_._isaid_fg}}
train_dataloader = dict(batch_size=2, num_workers=4, dataset=dict(pipeline=train_pipeline, metainfo=isaid_fg))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline, metainfo=isaid_fg))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline, metainfo=isaid_fg))
val_evaluator = dict(type='RSSegMetric', iou_metrics=['mIoU'], exclude_classes=None)
test_evaluator = val_evaluator
vocabulary_dir = '{{fileDirname}}/vocabularies'  # absolute: inference works from any working directory
model = dict(
    train_vocabulary=f'{vocabulary_dir}/isaid.txt',  # 'storage tank', not the dataset's 'store_tank'
    test_vocabulary=f'{vocabulary_dir}/isaid.txt',
    neck=dict(num_layers=3),
    decode_head=dict(num_classes=15))
custom_hooks = [dict(type='CheckpointManifestHook'), dict(type='VocabularyHook')]

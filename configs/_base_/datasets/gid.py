# GID-5 (Gaofen Image Dataset, large-scale classification set): 150 GF-2 scenes (~7200x6800, RGB), 5 classes
# (built-up, farmland, forest, meadow, water) + unlabeled (black, ignored).
# Layout written by data_converters/gid.py (default: 1024 tiles at stride 1024, last row/column aligned to the
# border -> 56 tiles per scene; deterministic scene split 120 train / 24 val / 6 test, lists in splits/):
# data/gid/{img_dir,ann_dir}/{train,val,test}, labels 0 = unlabeled, 1..5 = classes -> GIDDataset
# (reduce_zero_label=True) gives ids 0..4 with unlabeled = 255. LoVLANet's Table 2 does not say whether it reports
# val or test: val_dataloader reads val (24 scenes), test_dataloader reads test (6 scenes); report both.
# GID-15: convert with --classes 15 and add variant='gid15' to each dataset dict (15 classes, same layout).
dataset_type = 'GIDDataset'
data_root = 'data/gid'
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(1024, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/test', seg_map_path='ann_dir/test'),
        pipeline=test_pipeline))
val_evaluator = dict(type='RSSegMetric', iou_metrics=['mIoU', 'mFscore'])
test_evaluator = val_evaluator

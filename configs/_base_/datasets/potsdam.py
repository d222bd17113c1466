# ISPRS Potsdam, RGB orthophotos, 6 classes (impervious_surface, building, low_vegetation, tree, car, clutter).
# Layout written by data_converters/potsdam.py (default preset "authors": 1024 tiles, eroded test GT):
# data/potsdam/{img_dir,ann_dir}/{train,val} (val = the test areas),
# labels 0 = boundary, 1..6 = classes (mmseg's coding), so mmseg's PotsdamDataset runs with its default
# reduce_zero_label=True (boundary ignored, classes 0..5). Means (mIoU/mF1) exclude clutter, as in the
# GeoSeg/D2LS protocol; OA uses all classes.
dataset_type = 'PotsdamDataset'
data_root = 'data/potsdam'
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(512, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[[dict(type='RandomFlip', prob=0., direction='horizontal'),
                     dict(type='RandomFlip', prob=1., direction='horizontal')],
                    [dict(type='RandomFlip', prob=0., direction='vertical'),
                     dict(type='RandomFlip', prob=1., direction='vertical')],
                    [dict(type='LoadAnnotations')], [dict(type='PackSegInputs')]])
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
test_dataloader = val_dataloader
val_evaluator = dict(type='RSSegMetric', iou_metrics=['mIoU', 'mFscore'], exclude_classes=['clutter'])
test_evaluator = val_evaluator

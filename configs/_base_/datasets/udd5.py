# UDD5 (nadir UAV, 4096x2160 / 4000x3000, 5 classes: Vegetation, Building, Road, Vehicle, Other;
# OVRSISBench names).
# Layout written by data_converters/udd5.py: data/udd5/{img_dir,ann_dir}/{train,val} (official 120 / 40, whole
# images) + splits/all.txt. Labels 0..4, 255 ignored. OVRSISBench tests on 'all' (zero-shot, whole images).
# For the OVRSISBench bundle: img_suffix='.JPG',
# data_prefix=dict(img_path='UDD5/all/src', seg_map_path='UDD5/all/gt').
dataset_type = 'UDD5Dataset'
data_root = 'data/udd5'
crop_size = (512, 512)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 1024), keep_ratio=True),
    dict(type='LoadAnnotations'),
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
# the OVRSISBench 'all' split: every converted image (img_dir/<split>/<name> listed in splits/all.txt)
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='splits/all.txt',
        data_prefix=dict(img_path='img_dir', seg_map_path='ann_dir'),
        pipeline=test_pipeline))
val_evaluator = dict(type='RSSegMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

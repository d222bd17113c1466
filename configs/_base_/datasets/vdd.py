# VDD (Varied Drone Dataset, 4000x3000, 7 classes: Other, Wall, Road, Vegetation, Vehicle, Roof, Water;
# OVRSISBench names).
# Layout written by data_converters/vdd.py: data/vdd/{img_dir,ann_dir}/{train,val,test} (official 280 / 80 / 40,
# whole images) + splits/all.txt. Labels 0..6 (Other is a class), 255 ignored. OVRSISBench tests on 'all'.
# For the OVRSISBench bundle: img_suffix='.JPG', data_prefix=dict(img_path='VDD/src', seg_map_path='VDD/gt').
dataset_type = 'VDDDataset'
data_root = 'data/vdd'
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

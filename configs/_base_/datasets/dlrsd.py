# DLRSD (dense labels of the 2,100 UC Merced images, 256x256, 17 classes; OVRSISBench vocabulary as class names).
# Layout written by data_converters/dlrsd.py: data/dlrsd/{img_dir,ann_dir}/{train,val} (deterministic 80/20 split:
# 1,680 / 420) + splits/all.txt. Labels 0..16, 255 ignored. RSKT-Seg trains on train and tests on "all"
# (train + val: the in-domain number is optimistic, so also report val). For the OVRSISBench bundle use
# data_root=<bundle>, img_suffix='.jpg', data_prefix=dict(img_path='DLRSD/imgs', seg_map_path='DLRSD/D2masks').
dataset_type = 'DLRSDDataset'
data_root = 'data/dlrsd'
crop_size = (256, 256)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(256, 256), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8,
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
# the OVRSISBench "all" split: every converted image (img_dir/<split>/<name> listed in splits/all.txt)
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

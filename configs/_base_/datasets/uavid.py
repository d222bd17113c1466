# UAVid (Lyu et al. 2020): oblique UAV frames (3840x2160 / 4096x2160), 8 classes, boundary = 255.
# Layout written by data_converters/uavid.py: data/uavid/{img_dir,ann_dir}/{train,val} (+ img_dir/test);
# --preset authors gives the D2LS/GeoSeg 1024x1024 tiles of the bottom-right 2048x4096 region, --preset frames
# (default) whole frames for slide inference.
dataset_type = 'UAVidDataset'
data_root = 'data/uavid'
crop_size = (1024, 1024)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='RandomBrightnessContrast', brightness_limit=0.25, contrast_limit=0.25, prob=0.25),
    dict(type='Sharpen', alpha=(0.2, 0.5), lightness=(0.5, 1.0), prob=0.5),
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
val_evaluator = dict(type='RSSegMetric', iou_metrics=['mIoU', 'mFscore'])
test_evaluator = val_evaluator

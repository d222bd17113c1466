# iSAID (aerial instance/semantic segmentation, 16 labels: background + 15 object classes), mmseg's iSAIDDataset
# (reduce_zero_label=False). Patches in data/iSAID/{img_dir,ann_dir}/{train,val} as written by data_converters/isaid.py
# (default 896x896 at stride 512 = overlap 384, the same windows as mmseg's isaid converter; labels ending in
# '_instance_color_RGB.png' hold ids 0..15). Test labels are not public: report on val.
# The means exclude 'background' (the 15-class foreground mean of SCSM / LOGCAN++ / PFNet in the SCSM paper's
# Table 3); OA uses all classes. For a 16-class mean set val_evaluator.exclude_classes=None.
dataset_type = 'iSAIDDataset'
data_root = 'data/iSAID'
crop_size = (896, 896)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(896, 896), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[[dict(type='Resize', scale_factor=r, keep_ratio=True) for r in img_ratios],
                    [dict(type='RandomFlip', prob=0., direction='horizontal'),
                     dict(type='RandomFlip', prob=1., direction='horizontal')],
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
val_evaluator = dict(type='RSSegMetric', iou_metrics=['mIoU', 'mFscore'], exclude_classes=['background'])
test_evaluator = val_evaluator

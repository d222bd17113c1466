# Inria Aerial Image Labeling (Maggiori et al., IGARSS 2017): 180 labelled 5000x5000 RGB GeoTIFFs (0.3 m) from
# austin, chicago, kitsap, tyrol-w, vienna; building vs background. Layout written by data_converters/inria.py:
# data/inria/{img_dir,ann_dir}/<split> + splits/. Splits: the FCtL txt_1 protocol 126 train / 27 val / 27 test.
# Ultra-high-resolution protocol as configs/_base_/datasets/deepglobe.py: 121 grid patches (508 px, ~59 px
# overlap) per image for training; whole images at test. FCtL's "mIoU" is the building IoU (background left out).
dataset_type = 'InriaAerialDataset'
data_root = 'data/inria'
patch_size = 508
contexts = (1.0, 2.0, 3.0)
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor', 'flip',
             'flip_direction', 'reduce_zero_label', 'patch_box', 'ctx_boxes', 'ctx_specs')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomRotate90', prob=0.5),
    dict(type='GenerateMultiContextPatch', patch_size=patch_size, contexts=contexts),
    dict(type='PackSegInputs', meta_keys=meta_keys)
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=6,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='UHRPatchDataset',
        patch_size=patch_size,
        min_overlap=50,
        image_size=(5000, 5000),
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            ann_file='splits/train.txt',
            data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
            pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='splits/val.txt',
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='splits/test.txt',
        data_prefix=dict(img_path='img_dir/test', seg_map_path='ann_dir/test'),
        pipeline=test_pipeline))
# "mIoU" = building IoU, F1 = building F1 (FCtL Table 2); OA over all pixels
val_evaluator = dict(type='RSSegMetric', iou_metrics=['mIoU', 'mFscore'], exclude_classes=['background'])
test_evaluator = val_evaluator

# DeepGlobe Land Cover (Demir et al., CVPR-W 2018): 803 labelled 2448x2448 RGB images (50 cm), 7 classes with
# class 0 "unknown". Layout written by data_converters/deepglobe.py (mmseg's):
# data/deepglobe/{img_dir,ann_dir}/<split> + splits/.
# Splits: the GLNet protocol 454 train / 207 val / 142 test (splits/{train,val,test}.txt).
# Ultra-high-resolution protocol (FCtL/GLNet): training samples are the 36 grid patches (508 px) of every image,
# each with its context windows (GenerateMultiContextPatch); validation/test feed the whole image to the model,
# whose test_cfg (mode='uhr') cuts the same grid. "unknown" is trained as a class and left out of the means.
dataset_type = 'DeepGlobeLandCoverDataset'
data_root = 'data/deepglobe'
patch_size = 508
contexts = (1.0, 3.0, 'global')
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor', 'flip',
             'flip_direction', 'reduce_zero_label', 'patch_box', 'ctx_boxes', 'ctx_specs')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # full-image augmentation before the crops (the authors' code): hflip, then rot90 * k
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
        image_size=(2448, 2448),
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
# mIoU / mF1 over classes 1..6 (FCtL, GLNet, ISDNet); OA over all pixels
val_evaluator = dict(type='RSSegMetric', iou_metrics=['mIoU', 'mFscore'], exclude_classes=['unknown'])
test_evaluator = val_evaluator

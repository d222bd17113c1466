# D2LS, ConvNeXt-B, ISPRS Potsdam (RGB): the [C2] recipe (batch 4, lr 1e-4, 45 epochs, crop 768 from 1024
# patches, random scale {0.75..1.5}, mosaic 0.25, rot90 0.25, h/v flips); whole-patch inference; metric mF1
# over 5 classes (clutter excluded).
#   bash tools/dist_train.sh configs/d2ls/d2ls_convnext-b_4xb1-29k_potsdam-768x768.py 4
#   (4 GPUs x 1 = reference batch 4)
# Data: python data_converters/potsdam.py RAW -o data/potsdam (preset "authors": 1024 tiles, eroded test GT).
_base_ = [
    '../_base_/models/d2ls_convnext.py', '../_base_/datasets/potsdam.py', '../_base_/default_runtime.py',
    '../_base_/schedules/d2ls_lookahead-adamw_cosine.py'
]
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)

num_classes = 6
crop_size = (768, 768)
model = dict(data_preprocessor=dict(size=crop_size), decode_head=dict(num_classes=num_classes))

inner_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
train_pipeline = [
    dict(type='RSMosaic', prob=0.25),
    dict(type='RandomChoiceResize', scales=[(768, 768), (1024, 1024), (1280, 1280), (1536, 1536)],
         resize_type='Resize', keep_ratio=True, interpolation='bicubic'),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomRotate90', prob=0.25),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='MultiImageMixDataset',
        dataset=dict(type='PotsdamDataset', data_root='data/potsdam',
                     pipeline=inner_pipeline,
                     data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train')),
        pipeline=train_pipeline))

# [C]'s step count: 24 train tiles x 36 patches x 3 offline flips = 2592 patches / 4 = 648 it/epoch x 45 epochs
max_iters = 29160
val_interval = 648
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-6, by_epoch=False, begin=0, end=max_iters)
]
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
default_hooks = dict(checkpoint=dict(interval=val_interval, save_best='mF1'))

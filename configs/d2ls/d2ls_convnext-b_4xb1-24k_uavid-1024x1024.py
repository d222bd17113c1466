# D2LS, ConvNeXt-B, UAVid: [C]'s UAVid recipe (batch 4, lr 1e-4, 45 epochs on 2160 1024x1024 train+val tiles).
#   bash tools/dist_train.sh configs/d2ls/d2ls_convnext-b_4xb1-24k_uavid-1024x1024.py 4
#   (4 GPUs x 1 = the reference batch 4)
# On 8 GPUs keep batch_size=1 and lr 1e-4 (global batch 8: a deviation to note with the results).
# Data: python data_converters/uavid.py RAW -o data/uavid --preset authors (1024 tiles); trains on train+val.
# Inference as [C]: 1152x1024 (h x w) non-overlapping windows; TTA (h/v flips): tools/test.py ... --tta.
_base_ = [
    '../_base_/models/d2ls_convnext.py', '../_base_/datasets/uavid.py', '../_base_/default_runtime.py',
    '../_base_/schedules/d2ls_lookahead-adamw_cosine.py'
]
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)

num_classes = 8
crop_size = (1024, 1024)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=num_classes),
    test_cfg=dict(mode='slide', crop_size=(1152, 1024), stride=(1152, 1024)))

inner_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
train_pipeline = [
    dict(type='RSMosaic', prob=0.25, img_scale=crop_size),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='RandomBrightnessContrast', brightness_limit=0.25, contrast_limit=0.25, prob=0.25),
    dict(type='Sharpen', alpha=(0.2, 0.5), lightness=(0.5, 1.0), prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=1,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='MultiImageMixDataset',
        dataset=dict(
            type='ConcatDataset',
            datasets=[
                dict(type='UAVidDataset', data_root='data/uavid', pipeline=inner_pipeline,
                     data_prefix=dict(img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'))
                for split in ('train', 'val')
            ]),
        pipeline=train_pipeline))

max_iters = 24300  # 2160 / 4 = 540 iterations x 45 epochs
val_interval = 540
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-6, by_epoch=False, begin=0, end=max_iters)
]
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
default_hooks = dict(checkpoint=dict(interval=val_interval))

# D2LS, ConvNeXt-B, UAVid: [C]'s UAVid recipe (batch 4, lr 1e-4, 45 epochs on 2160 1024x1024 train+val tiles).
#   bash tools/dist_train.sh configs/d2ls/d2ls_convnext_uavid.py 4      (4 GPUs x 1 = the reference batch 4)
# On 8 GPUs keep batch_size=1 and lr 1e-4 (global batch 8: a deviation to note with the results).
# Data: python data_converters/uavid.py RAW -o data/uavid --preset authors (1024 tiles); trains on train+val.
# Inference as [C]: 1152x1024 (h x w) non-overlapping windows; TTA (h/v flips): tools/test.py ... --tta.
_base_ = ['../_base_/models/d2ls_convnext.py', '../_base_/datasets/uavid.py', '../_base_/default_runtime.py']
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
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LookaheadAdamW', lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, k=5,
                   alpha=0.5),
    clip_grad=None)
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min=1e-6, by_epoch=False, begin=0, end=max_iters)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=val_interval, save_best='mIoU',
                    max_keep_ckpts=1))
randomness = dict(seed=42)
auto_scale_lr = dict(enable=False, base_batch_size=4)
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=False)

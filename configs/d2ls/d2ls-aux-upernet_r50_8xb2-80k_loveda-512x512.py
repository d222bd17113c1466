# Mixing example: a stock mmseg UPerNet-R50 whose auxiliary head is a D2LSHead (instead of the usual FCN head)
# on the same backbone features; all D2LS losses are scaled by 0.4, the usual auxiliary weight. mmseg's
# EncoderDecoder prefixes them with "aux." and uses only the UPerNet head at inference.
_base_ = ['../_base_/datasets/loveda.py', '../_base_/default_runtime.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
num_classes = 7
crop_size = (512, 512)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True,
    pad_val=0, seg_pad_val=255, size=crop_size, test_cfg=dict(size_divisor=32))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c', depth=50, num_stages=4, out_indices=(0, 1, 2, 3), dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2), norm_cfg=norm_cfg, norm_eval=False, style='pytorch', contract_dilation=True,
        init_cfg=dict(type='LocalPretrained', checkpoint='checkpoints/resnet50_v1c-2cccc1ad.pth',
                      source='https://download.openmmlab.com/pretrain/third_party/resnet50_v1c-2cccc1ad.pth')),
    decode_head=dict(
        type='UPerHead', in_channels=[256, 512, 1024, 2048], in_index=[0, 1, 2, 3], pool_scales=(1, 2, 3, 6),
        channels=512, dropout_ratio=0.1, num_classes=num_classes, norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='D2LSHead',
        in_channels=[256, 512, 1024, 2048],
        in_index=[0, 1, 2, 3],
        channels=256,
        num_classes=num_classes,
        loss_decode=[
            dict(type='SoftCrossEntropyLoss', smooth_factor=0.05, loss_weight=0.4, loss_name='loss_ce'),
            dict(type='MultiClassDiceLoss', smooth=0.05, loss_weight=0.4, loss_name='loss_dice')
        ],
        loss_static=[
            dict(type='SoftCrossEntropyLoss', smooth_factor=0.05, loss_weight=0.16, loss_name='loss_ce_static'),
            dict(type='MultiClassDiceLoss', smooth=0.05, loss_weight=0.16, loss_name='loss_dice_static')
        ],
        loss_contrast=dict(type='DictContrastiveLoss', loss_weight=0.4, loss_name='loss_dict_con')),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
train_dataloader = dict(batch_size=2)  # x 8 GPUs
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.01))
param_scheduler = [dict(type='PolyLR', eta_min=1e-6, power=1.0, begin=0, end=80000, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=80000, val_interval=8000)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=8000))

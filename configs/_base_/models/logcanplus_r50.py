# LOGCAN++ (Ma et al., ref. [33] of the SCSM paper; docs/methods/scsm.md), the SCSM authors' previous model, as
# SCSM's baseline: a plain ResNet-50 (ResNetV1c, output stride 32, all 4 levels) and LOGCANPlusHead (T=128, 8 heads,
# 4x4 window grid), losses 1.0 main / 0.8 pre-classification, no auxiliary head.
# Pretrained weights come from a LOCAL file only (nothing downloads): the ImageNet ResNet-50-V1c checkpoint of
# configs/_base_/models/scsm_r50-d8.py, at checkpoints/resnet50_v1c-2cccc1ad.pth.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True,
        init_cfg=dict(type='LocalPretrained', checkpoint='checkpoints/resnet50_v1c-2cccc1ad.pth',
                      source='https://download.openmmlab.com/pretrain/third_party/resnet50_v1c-2cccc1ad.pth '
                      "(mmcv's open-mmlab://resnet50_v1c)")),
    decode_head=dict(
        type='LOGCANPlusHead',
        in_channels=[256, 512, 1024, 2048],
        in_index=[0, 1, 2, 3],
        input_transform='multiple_select',
        channels=128,
        num_heads=8,
        window_grid=(4, 4),
        dropout_ratio=0.1,
        num_classes=6,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True),
        pre_loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.8, avg_non_ignore=True)),
    auxiliary_head=None,
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

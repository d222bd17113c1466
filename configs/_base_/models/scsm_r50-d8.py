# SCSM (Ma et al., ISPRS J. 2025): dilated ResNet-50-D8 (ResNetV1c) + SCSMHead on stage 4 + FCN auxiliary head on
# stage 3 (loss weights 1.0 main / 0.8 pre-classification / 0.4 auxiliary, Eq. 31).
# Pretrained weights come from a LOCAL file only (nothing downloads, `LocalPretrained` refuses URLs): put the ImageNet
# ResNet-50-V1c checkpoint (the file behind mmcv's open-mmlab://resnet50_v1c) at checkpoints/resnet50_v1c-2cccc1ad.pth,
# or set model.backbone.init_cfg.checkpoint to where it is (model.backbone.init_cfg=None trains from scratch).
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
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True,
        init_cfg=dict(type='LocalPretrained', checkpoint='checkpoints/resnet50_v1c-2cccc1ad.pth',
                      source='https://download.openmmlab.com/pretrain/third_party/resnet50_v1c-2cccc1ad.pth '
                      "(mmcv's open-mmlab://resnet50_v1c)")),
    decode_head=dict(
        type='SCSMHead',
        in_channels=2048,
        in_index=3,
        channels=128,                 # C (pinned by the 2.4 M / 40.5 G budget of Table 7)
        transform_channels=64,        # d
        pre_cls_channels=64,
        block_size=21,                # P (Table 5)
        num_freqs=16,                 # M (Table 4)
        pos_encoding='rope+',         # Table 6 / 9
        key_source='local_mask',      # G+L (Table 8)
        value_source='global_mask',
        fusion_kernel=1,
        dropout_ratio=0.1,
        num_classes=6,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True),
        pre_loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.8, avg_non_ignore=True)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=1024,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=6,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4, avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

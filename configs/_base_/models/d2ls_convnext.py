# D2LS (Zou et al., ICCV 2025): ConvNeXt-B (ImageNet-1k, 224 px) + D2LSHead, as in the authors' release.
# Pretrained weights are read from a local file only; put the mmpretrain checkpoint at the path below
# (or override model.backbone.init_cfg.checkpoint). Nothing downloads.
num_classes = 7
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],  # ImageNet RGB statistics, as albumentations' Normalize() in [C]
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(512, 512),
    test_cfg=dict(size_divisor=32))  # the head predicts at 4x the stride-4 map: sides must be multiples of 32
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='mmpretrain.ConvNeXt',
        arch='base',
        in_channels=3,
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.5,  # torchvision convnext_base's default stochastic depth, which [C] trains with
        layer_scale_init_value=1e-6,
        gap_before_final_norm=False,
        init_cfg=dict(
            type='LocalPretrained',
            checkpoint='checkpoints/convnext-base_3rdparty_32xb128-noema_in1k_20220301-2a0ee547.pth',
            prefix='backbone.',
            source='https://download.openmmlab.com/mmclassification/v0/convnext/'
            'convnext-base_3rdparty_32xb128-noema_in1k_20220301-2a0ee547.pth (mmpretrain model zoo, '
            'ConvNeXt-B ImageNet-1k 224 px; not the in21k/384 variants)')),
    decode_head=dict(
        type='D2LSHead',
        in_channels=[128, 256, 512, 1024],
        in_index=[0, 1, 2, 3],
        input_transform='multiple_select',
        channels=256,  # C'
        num_classes=num_classes,
        num_tokens=None,
        query_ratio=4,  # r
        num_stages=3,  # L
        num_heads=8,
        attn_downsample_rate=2,
        use_aggregator=True,
        use_modulator=True,
        use_interactor=True,
        use_static_branch=True,
        dict_mode='dynamic',
        contrast_on='d0',
        align_corners=False,
        ignore_index=255,
        loss_decode=[
            dict(type='SoftCrossEntropyLoss', smooth_factor=0.05, loss_weight=1.0, loss_name='loss_ce'),
            dict(type='MultiClassDiceLoss', smooth=0.05, loss_weight=1.0, loss_name='loss_dice')
        ],
        loss_static=[
            dict(type='SoftCrossEntropyLoss', smooth_factor=0.05, loss_weight=0.4, loss_name='loss_ce_static'),
            dict(type='MultiClassDiceLoss', smooth=0.05, loss_weight=0.4, loss_name='loss_dice_static')
        ],
        loss_contrast=dict(
            type='DictContrastiveLoss', eps=1e-6, gather_across_gpus=True, loss_weight=1.0,
            loss_name='loss_dict_con')),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

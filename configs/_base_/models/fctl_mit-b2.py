# FCtL with a SegFormer MiT-B2 encoder (mmseg MixVisionTransformer) per branch, LCF/ALE on stage 4 (512 x 16 x 16
# for a 508 patch) and the SegFormer head over all stages (the paper does not name it; inferred).
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='MultiContextSegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
mit_ckpt = 'checkpoints/mit_b2_20220624-66e8bf70.pth'
mit_url = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b2_20220624-66e8bf70.pth'
model = dict(
    type='MultiContextEncoderDecoder',
    data_preprocessor=data_preprocessor,
    contexts=(1.0, 3.0, 'global'),
    patch_size=508,
    fuse_level=-1,
    backbone=dict(
        type='MixVisionTransformer',
        in_channels=3,
        embed_dims=64,
        num_stages=4,
        num_layers=[3, 4, 6, 3],
        num_heads=[1, 2, 5, 8],
        patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1],
        out_indices=(0, 1, 2, 3),
        mlp_ratio=4,
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,
        init_cfg=dict(type='LocalPretrained', checkpoint=mit_ckpt, source=mit_url)),
    fusion=dict(
        type='LCFALEFusion',
        in_channels=512,
        lcc=dict(key_channels=512, value_source='context', use_gpe=True, gpe_pos_mode='grid', zero_init_gamma=True),
        mcf=dict(mode='adaptive', squeeze_ratio=1, sigmoid_before_softmax=True),
        ale=dict(variant='d', share_lfi=False,
                 lfi=dict(kernel_sizes=(3, 5, 7, 9), attn_act='sigmoid', residual='identity'))),
    decode_head=dict(
        type='SegformerHead',
        in_channels=[64, 128, 320, 512],
        in_index=[0, 1, 2, 3],
        channels=768,
        dropout_ratio=0.1,
        num_classes=7,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='SoftmaxFocalLoss', gamma=3.0, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='uhr', patch_size=508, min_overlap=50, sub_batch_size=16, tta=None, cache_global=True))

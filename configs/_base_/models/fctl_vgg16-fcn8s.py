# FCtL with VGG16 / FCN-8s (the paper's main model): one VGG16 trunk per branch (patch + every context, independent
# weights), LCF (LCC with GPE + adaptive MCF) and ALE (d) on pool5 (512 x 16 x 16 for a 508 patch), FCN-8s decoder
# on pool3/pool4/fused pool5, softmax focal loss gamma=3. Pretrained weights come from local files only
# (LocalPretrained; see docs/methods/fctl.md for where to get them).
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='MultiContextSegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
vgg16_ckpt = 'checkpoints/vgg16_batch256_imagenet_20210208-db26f1a5.pth'
vgg16_url = 'https://download.openmmlab.com/mmclassification/v0/vgg/vgg16_batch256_imagenet_20210208-db26f1a5.pth'
model = dict(
    type='MultiContextEncoderDecoder',
    data_preprocessor=data_preprocessor,
    contexts=(1.0, 3.0, 'global'),
    patch_size=508,
    fuse_level=-1,
    backbone=dict(
        type='mmpretrain.VGG',
        depth=16,
        num_classes=-1,
        out_indices=(2, 3, 4),  # pool3, pool4, pool5
        ceil_mode=True,
        with_last_pool=True,
        norm_cfg=None,
        init_cfg=dict(type='LocalPretrained', checkpoint=vgg16_ckpt, prefix='backbone.', source=vgg16_url)),
    fusion=dict(
        type='LCFALEFusion',
        in_channels=512,
        lcc=dict(key_channels=512, value_source='context', use_gpe=True, gpe_pos_mode='grid', zero_init_gamma=True),
        mcf=dict(mode='adaptive', squeeze_ratio=1, sigmoid_before_softmax=True),
        ale=dict(variant='d', share_lfi=False,
                 lfi=dict(kernel_sizes=(3, 5, 7, 9), attn_act='sigmoid', residual='identity'))),
    decode_head=dict(
        type='FCN8sHead',
        in_channels=(256, 512, 512),
        in_index=(0, 1, 2),
        input_transform='multiple_select',
        channels=4096,
        num_classes=7,
        dropout_ratio=0.5,
        align_corners=False,
        fc_init_from=vgg16_ckpt,
        loss_decode=dict(type='SoftmaxFocalLoss', gamma=3.0, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='uhr', patch_size=508, min_overlap=50, sub_batch_size=16, tta=None, cache_global=True))

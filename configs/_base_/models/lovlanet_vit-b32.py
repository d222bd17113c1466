# LoVLANet (Zeng et al., Remote Sensing 2026): NKKViT-B/32 (key-key attention + Gaussian neighbourhood prior,
# reduced last block) -> MultiLevelNeck (strides 4/8/16/32, 512 ch) -> SFF + cosine classifier against frozen
# RemoteCLIP ViT-B-32 text anchors; loss = CE + 1.0 * class-prototype InfoNCE (VLAlignLoss).
# Weights (local files only, nothing downloads):
#   checkpoints/vit_base_patch32_224.augreg_in21k_ft_in1k.safetensors  (timm; model.safetensors of
#     https://huggingface.co/timm/vit_base_patch32_224.augreg_in21k_ft_in1k)
#   checkpoints/RemoteCLIP-ViT-B-32.pt  (https://huggingface.co/chendelong/RemoteCLIP)
# RemoteCLIP's image tower instead of timm: backbone=dict(pretrained='checkpoints/RemoteCLIP-ViT-B-32.pt',
#   weight_format='open_clip', patch_bias=False, pre_norm=True, norm_eps=1e-5) and CLIP mean/std.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[127.5, 127.5, 127.5],  # augreg ViT normalisation (0.5/0.5)
    std=[127.5, 127.5, 127.5],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(512, 512),
    test_cfg=dict(size_divisor=32))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='NKKViT',
        img_size=224,
        patch_size=32,
        embed_dims=768,
        num_layers=12,
        num_heads=12,
        out_indices=(2, 5, 8, 11),
        drop_path_rate=0.1,
        key_key=True,
        gaussian_prior=True,
        sigma=2.0,
        reduce_last_mlp=True,
        last_block_residual=False,
        pretrained='checkpoints/vit_base_patch32_224.augreg_in21k_ft_in1k.safetensors',
        weight_format='timm'),
    neck=dict(type='MultiLevelNeck', in_channels=[768] * 4, out_channels=512, scales=[8, 4, 2, 1]),
    decode_head=dict(
        type='LoVLANetHead',
        in_channels=[512] * 4,
        in_index=[0, 1, 2, 3],
        input_transform='multiple_select',
        channels=512,
        num_classes=6,
        norm_cfg=norm_cfg,
        align_corners=False,
        dropout_ratio=0.,
        class_names=None,  # set by the dataset config; VocabularyHook reads the dataset metainfo at run time
        text_encoder=dict(
            type='OpenCLIPTextEncoder',
            model_name='ViT-B-32',
            checkpoint='checkpoints/RemoteCLIP-ViT-B-32.pt',
            templates=('{}', ),
            freeze=True),
        logit_scale_init=1 / 0.07,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True),
        loss_align=dict(type='VLAlignLoss', mode='prototype', temperature=0.07, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

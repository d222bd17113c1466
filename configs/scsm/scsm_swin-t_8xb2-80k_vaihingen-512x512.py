# SCSMHead on a stock mmseg backbone other than ResNet (Swin-T), to show that the head mixes with any backbone:
# the head reads Swin stage 3 (384 channels, stride 16; a 512 crop gives a 32x32 map, 2x2 overlapping 21x21 blocks)
# and the FCN auxiliary head reads stage 2 (192 channels). Same data, augmentation and schedule as
# scsm_r50-d8_8xb2-80k_vaihingen-512x512.py (the paper never trained this combination: there are no reference numbers).
# Swin-T ImageNet weights from a LOCAL file: the official swin_tiny_patch4_window7_224.pth converted with mmseg's
# tools/model_converters/swin2mmseg.py, at checkpoints/swin_tiny_patch4_window7_224.pth.
_base_ = ['./scsm_r50-d8_8xb2-80k_vaihingen-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        embed_dims=96,
        depths=[2, 2, 6, 2],
        num_heads=[3, 6, 12, 24],
        window_size=7,
        mlp_ratio=4,
        qkv_bias=True,
        qk_scale=None,
        drop_rate=0.,
        attn_drop_rate=0.,
        drop_path_rate=0.3,
        patch_norm=True,
        out_indices=(0, 1, 2, 3),
        use_abs_pos_embed=False,
        act_cfg=dict(type='GELU'),
        norm_cfg=dict(type='LN', requires_grad=True),
        init_cfg=dict(type='LocalPretrained', checkpoint='checkpoints/swin_tiny_patch4_window7_224.pth',
                      source='https://github.com/SwinTransformer/storage/releases/download/v1.0.0/'
                      "swin_tiny_patch4_window7_224.pth, converted with mmseg's swin2mmseg.py")),
    decode_head=dict(in_channels=384, in_index=2),
    auxiliary_head=dict(in_channels=192, in_index=1))

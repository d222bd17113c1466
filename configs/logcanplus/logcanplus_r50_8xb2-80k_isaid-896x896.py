# LOGCAN++ (Ma et al., ref. [33] of the SCSM paper; docs/methods/scsm.md), the SCSM authors' previous model, as the
# baseline: plain ResNet-50 (ResNetV1c, output stride 32, all 4 levels), LOGCANPlusHead (T=128, 8 heads, 4x4 window
# grid), losses 1.0 main / 0.8 pre-classification, no auxiliary FCN. Everything else (data, augmentation, schedule) is
# the SCSM recipe of ../scsm/scsm_r50-d8_8xb2-80k_isaid-896x896.py, for a like-for-like comparison. ResNet-50 weights:
# see configs/_base_/models/scsm_r50-d8.py.
_base_ = ['../scsm/scsm_r50-d8_8xb2-80k_isaid-896x896.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(
    backbone=dict(dilations=(1, 1, 1, 1), strides=(1, 2, 2, 2)),
    decode_head=dict(
        _delete_=True,
        type='LOGCANPlusHead',
        in_channels=[256, 512, 1024, 2048],
        in_index=[0, 1, 2, 3],
        input_transform='multiple_select',
        channels=128,
        num_heads=8,
        window_grid=(4, 4),
        dropout_ratio=0.1,
        num_classes={{_base_.num_classes}},
        norm_cfg={{_base_.norm_cfg}},
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True),
        pre_loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.8, avg_non_ignore=True)),
    auxiliary_head=None)

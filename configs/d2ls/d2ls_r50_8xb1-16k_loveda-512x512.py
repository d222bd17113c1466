# Mixing example: D2LSHead on an mmseg backbone (ResNetV1c-50, strides 4..32, channels 256..2048) with the
# D2LS LoveDA recipe. Not a paper configuration. ImageNet weights from a local file (mmcv's resnet50_v1c).
_base_ = ['./d2ls_convnext-b_8xb1-16k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
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
    decode_head=dict(in_channels=[256, 512, 1024, 2048]))

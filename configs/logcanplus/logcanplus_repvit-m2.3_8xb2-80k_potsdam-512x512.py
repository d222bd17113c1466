# LOGCAN++ as the authors release it (github.com/xwmaxwma/rssegmentation, configs/potsdam/logcanplus.py): RepViT-M2.3
# (timm's repvit_m2_3, maps taken right before each stride-2 block = the release's out_indices [7, 15, 51, 54],
# BatchNorm statistics frozen as in the release's RepViT.train), LOGCANPlusHead with T=96, 8 heads, 4x4 windows,
# losses 1.0 main / 0.8 pre-classification. release_compat=True: the head computes the release's window geometry and
# head/window pairing, so checkpoints converted with tools/model_converters/logcanplus2mmseg.py give the release's
# outputs (docs/methods/scsm.md); set model.decode_head.release_compat=False to train our geometry from scratch.
# Data, augmentation and schedule are the SCSM recipe of
# ./logcanplus_r50_8xb2-80k_potsdam-512x512.py (the release trains 150 epochs of AdamW lr 1e-4, wd 1e-4, poly 0.9,
# batch 4: not reproduced here).
# Backbone weights: a LOCAL file only, either the RepViT authors' repvit_m2_3_distill_450e.pth (the file the
# LOGCAN++ README links as "the backbone") or timm's repvit_m2_3.dist_450e_in1k; nothing downloads.
_base_ = ['./logcanplus_r50_8xb2-80k_potsdam-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='RepViT',
        arch='repvit_m2_3',
        out_before_downsample=True,
        norm_eval=True,
        init_cfg=dict(type='LocalPretrained', checkpoint='checkpoints/repvit_m2_3_distill_450e.pth',
                      source='the RepViT-M2.3 ImageNet weights linked from github.com/THU-MIG/RepViT (or the '
                      'LOGCAN++ README), or timm repvit_m2_3.dist_450e_in1k')),
    decode_head=dict(in_channels=[80, 160, 320, 640], channels=96, num_heads=8, window_grid=(4, 4),
                     release_compat=True))

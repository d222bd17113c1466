# FCtL, SegFormer MiT-B5, DeepGlobe (paper Table 1: 73.7 mIoU). MiT-B5 = B2 with depths [3, 6, 40, 3].
_base_ = ['./fctl_mit-b2_4xb6-34k_deepglobe-508x508.py']
mit_ckpt = 'checkpoints/mit_b5_20220624-658746d9.pth'
mit_url = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b5_20220624-658746d9.pth'
model = dict(backbone=dict(num_layers=[3, 6, 40, 3],
                           init_cfg=dict(type='LocalPretrained', checkpoint=mit_ckpt, source=mit_url)))

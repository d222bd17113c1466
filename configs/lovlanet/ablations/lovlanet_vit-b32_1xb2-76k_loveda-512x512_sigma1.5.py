# Table 4 sigma ablation (LoveDA val): Gaussian prior width sigma = 1.5 tokens (default 2.0 = 69.77 mIoU).
_base_ = '../lovlanet_vit-b32_1xb2-76k_loveda-512x512.py'
model = dict(backbone=dict(sigma=1.5))

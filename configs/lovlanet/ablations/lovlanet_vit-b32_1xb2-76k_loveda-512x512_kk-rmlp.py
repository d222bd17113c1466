# Table 3 component ablation (LoveDA val): key_key=True, gaussian_prior=False, reduce_last_mlp=True (full model: all True).
_base_ = '../lovlanet_vit-b32_1xb2-76k_loveda-512x512.py'
model = dict(backbone=dict(key_key=True, gaussian_prior=False, reduce_last_mlp=True))

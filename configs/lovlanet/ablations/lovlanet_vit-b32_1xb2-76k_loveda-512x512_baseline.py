# Table 3 component ablation (LoveDA val): key_key=False, gaussian_prior=False, reduce_last_mlp=False (full model: all True).
_base_ = '../lovlanet_vit-b32_1xb2-76k_loveda-512x512.py'
model = dict(backbone=dict(key_key=False, gaussian_prior=False, reduce_last_mlp=False))

# renamed (OpenMMLab naming); kept for one release:
# ablations/lovlanet_vit-b32_1xb2-76k_loveda-512x512_sigma1.0.py
_base_ = ['./ablations/lovlanet_vit-b32_1xb2-76k_loveda-512x512_sigma1.0.py']

# renamed (OpenMMLab naming); kept for one release:
# lovlanet_vit-b32_1xb2-76k_loveda-512x512_kk-gauss.py
_base_ = ['./lovlanet_vit-b32_1xb2-76k_loveda-512x512_kk-gauss.py']

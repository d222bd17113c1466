# renamed to d2ls_convnext-b_4xb1-11k_vaihingen-512x512.py (OpenMMLab naming); kept for one release.
_base_ = ['./d2ls_convnext-b_4xb1-11k_vaihingen-512x512.py']

# renamed to d2ls_convnext-b_4xb1-31k_loveda-512x512.py (OpenMMLab naming); kept for one release.
_base_ = ['./d2ls_convnext-b_4xb1-31k_loveda-512x512.py']

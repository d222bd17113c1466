# renamed to d2ls_convnext-b_4xb1-29k_potsdam-768x768.py (OpenMMLab naming); kept for one release.
_base_ = ['./d2ls_convnext-b_4xb1-29k_potsdam-768x768.py']

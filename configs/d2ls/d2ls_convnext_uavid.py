# renamed to d2ls_convnext-b_4xb1-24k_uavid-1024x1024.py (OpenMMLab naming); kept for one release.
_base_ = ['./d2ls_convnext-b_4xb1-24k_uavid-1024x1024.py']

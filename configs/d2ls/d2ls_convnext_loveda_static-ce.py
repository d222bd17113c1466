# renamed (OpenMMLab naming); kept for one release:
# ablations/d2ls_convnext-b_8xb1-16k_loveda-512x512_static-ce.py
_base_ = ['./ablations/d2ls_convnext-b_8xb1-16k_loveda-512x512_static-ce.py']

# renamed to d2ls_r50_8xb1-16k_loveda-512x512.py (OpenMMLab naming); kept for one release.
_base_ = ['./d2ls_r50_8xb1-16k_loveda-512x512.py']

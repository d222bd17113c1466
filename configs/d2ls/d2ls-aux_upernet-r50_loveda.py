# renamed to d2ls-aux-upernet_r50_8xb2-80k_loveda-512x512.py (OpenMMLab naming); kept for one release.
_base_ = ['./d2ls-aux-upernet_r50_8xb2-80k_loveda-512x512.py']

# renamed (OpenMMLab naming); kept for one release:
# scsm_r50-d8_8xb2-80k_loveda-512x512_rope-identical.py
_base_ = ['./scsm_r50-d8_8xb2-80k_loveda-512x512_rope-identical.py']

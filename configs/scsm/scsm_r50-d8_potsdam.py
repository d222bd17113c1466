# renamed (OpenMMLab naming); kept for one release:
# scsm_r50-d8_8xb2-80k_potsdam-512x512.py
_base_ = ['./scsm_r50-d8_8xb2-80k_potsdam-512x512.py']

# renamed (OpenMMLab naming); kept for one release:
# scsm_swin-t_8xb2-80k_vaihingen-512x512.py
_base_ = ['./scsm_swin-t_8xb2-80k_vaihingen-512x512.py']

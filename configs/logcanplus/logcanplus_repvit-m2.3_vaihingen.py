# renamed (OpenMMLab naming); kept for one release:
# logcanplus_repvit-m2.3_8xb2-80k_vaihingen-512x512.py
_base_ = ['./logcanplus_repvit-m2.3_8xb2-80k_vaihingen-512x512.py']

# renamed (OpenMMLab naming); kept for one release:
# logcanplus_r50_8xb2-80k_potsdam-512x512.py
_base_ = ['./logcanplus_r50_8xb2-80k_potsdam-512x512.py']

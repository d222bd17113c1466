# renamed (OpenMMLab naming); kept for one release:
# logcanplus_r50_8xb2-80k_isaid-896x896.py
_base_ = ['./logcanplus_r50_8xb2-80k_isaid-896x896.py']

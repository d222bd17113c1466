# Table 2 ablation: L = 4 interactor stages (paper LoveDA mIoU: L1 54.84, L2 55.00, L3 55.27, L4 54.84).
_base_ = ['../d2ls_convnext-b_8xb1-16k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(decode_head=dict(num_stages=4))

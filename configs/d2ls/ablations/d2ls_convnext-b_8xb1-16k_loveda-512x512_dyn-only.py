# Table 1 "L_dynamic only" (54.93): dynamic CE + Dice only (no static branch, no contrastive loss).
_base_ = ['../d2ls_convnext-b_8xb1-16k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(decode_head=dict(use_static_branch=False, loss_contrast=None))

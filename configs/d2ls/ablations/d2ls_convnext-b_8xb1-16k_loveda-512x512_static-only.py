# Table 1 "L_static only" (54.80): train and infer with the static dictionary D_s; no modulator, no static
# auxiliary branch (it would be the same decoder on the same dictionary), no contrastive loss.
_base_ = ['../d2ls_convnext-b_8xb1-16k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(decode_head=dict(dict_mode='static'))

# SCSM ablation on LoveDA, Table 8: Base+SCA, semantic masks off (key = value = features).
_base_ = ['../scsm_r50-d8_8xb2-80k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(decode_head=dict(use_semantic_masks=False))

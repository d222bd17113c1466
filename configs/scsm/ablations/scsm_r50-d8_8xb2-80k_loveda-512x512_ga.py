# SCSM ablation on LoveDA, Table 8: Base+GA, vanilla block attention (P=21) on features; no masks, DCT or PE.
_base_ = ['../scsm_r50-d8_8xb2-80k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(decode_head=dict(use_semantic_masks=False, use_dct=False, pos_encoding='none'))

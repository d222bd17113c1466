# SCSM ablation on LoveDA, Table 8: Base+SMG(G+L)+GA, plain attention (no DCT, no PE) on the semantic masks.
_base_ = ['../scsm_r50-d8_8xb2-80k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(decode_head=dict(use_dct=False, pos_encoding='none'))

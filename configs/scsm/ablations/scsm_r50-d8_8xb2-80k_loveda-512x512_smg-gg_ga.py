# SCSM ablation on LoveDA, Table 8: Base+SMG(G+G)+GA.
_base_ = ['../scsm_r50-d8_8xb2-80k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(decode_head=dict(key_source='global_mask', use_dct=False, pos_encoding='none'))

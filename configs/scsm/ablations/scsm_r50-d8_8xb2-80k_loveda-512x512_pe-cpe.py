# SCSM ablation on LoveDA, Table 9: CPVT positional-encoding generator instead of ROPE+.
_base_ = ['../scsm_r50-d8_8xb2-80k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(decode_head=dict(pos_encoding='cpe'))

# SCSM ablation on LoveDA, Table 5: block size P=28.
_base_ = ['../scsm_r50-d8_8xb2-80k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(decode_head=dict(block_size=28))

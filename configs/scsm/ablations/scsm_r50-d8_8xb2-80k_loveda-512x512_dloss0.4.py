# SCSM ablation on LoveDA, Table 10: pre-classification loss weight 0.4.
_base_ = ['../scsm_r50-d8_8xb2-80k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(decode_head=dict(pre_loss_decode=dict(loss_weight=0.4)))

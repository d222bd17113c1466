# Table 3 "w/o aggregator" (54.66): E0 = the stride-32 projection F'_4, upsampled to stride 4.
_base_ = ['../d2ls_convnext-b_8xb1-16k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(decode_head=dict(use_aggregator=False))
# F1..F3 only give E0 its size: their output norms get no gradient
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)

# Table 3 "w/o modulator", reading (b): keep the r candidates per class but mix them uniformly (A = 1/r).
# The contrastive loss is off (the dictionary no longer depends on the image); the static branch stays.
_base_ = ['../d2ls_convnext-b_8xb1-16k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(decode_head=dict(dict_mode='uniform'))

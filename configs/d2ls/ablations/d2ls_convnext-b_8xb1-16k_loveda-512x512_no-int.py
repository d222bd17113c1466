# Table 3 "w/o interaction" (54.55): no interactor; logits = MLP(D0) . upsample(E0).
_base_ = ['../d2ls_convnext-b_8xb1-16k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(decode_head=dict(use_interactor=False))

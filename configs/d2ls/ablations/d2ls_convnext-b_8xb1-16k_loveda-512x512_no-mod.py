# Table 3 "w/o modulator" (54.95), reading (a) (inferred): the dictionary is D_s (no modulator,
# no r-candidate MLP). Structurally the same model as the static-only ablation; see _no-mod-uniform for (b).
_base_ = ['../d2ls_convnext-b_8xb1-16k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(decode_head=dict(use_modulator=False))

# Fig. 6 ablation: embedding size C' = 512 (best on UAVid/Cloud, slightly worse on LoveDA; 1024 collapses).
_base_ = ['../d2ls_convnext-b_8xb1-16k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(decode_head=dict(channels=512))

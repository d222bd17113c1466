# Option B (inferred) for the (unstated) visual pretraining: RemoteCLIP's ViT-B-32 IMAGE tower instead of the timm
# augreg ViT. The same local file feeds both towers (visual.* -> NKKViT via weight_format='open_clip': CLS token,
# proj and the query rows of in_proj are dropped; the text tower reads the rest). CLIP layout: no patch-embedding
# bias, ln_pre, LayerNorm eps 1e-5, CLIP mean/std.
_base_ = './lovlanet_vit-b32_1xb2-76k_loveda-512x512.py'
model = dict(
    data_preprocessor=dict(mean=[122.771, 116.746, 104.094], std=[68.501, 66.632, 70.323]),
    backbone=dict(
        pretrained='checkpoints/RemoteCLIP-ViT-B-32.pt',
        weight_format='open_clip',
        patch_bias=False,
        pre_norm=True,
        norm_eps=1e-5))

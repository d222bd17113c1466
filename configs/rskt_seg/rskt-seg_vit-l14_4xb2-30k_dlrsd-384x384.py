# RSKT-Seg ViT-L/14 @ 336 (24 x 24 tokens, Ce 768, Wc 1024, hooks 7/15), trained on DLRSD, N = 5 (reproduce
# script / released checkpoint). RemoteCLIP (768) and RS-DINO (384) as for ViT-B/16.
#   pretrained/clip/ViT-L-14-336px.pt   OpenAI CLIP (github.com/openai/CLIP, clip/clip.py _MODELS)
_base_ = ['./rskt-seg_vit-b16_4xb2-30k_dlrsd-384x384.py']
model = dict(
    data_preprocessor=dict(size=(336, 336)),
    backbone=dict(
        model_name='ViT-L-14-336', checkpoint='pretrained/clip/ViT-L-14-336px.pt', input_size=336,
        out_indices=(7, 15)),
    neck=dict(embed_dim=768, num_layers=5),
    decode_head=dict(clip_width=1024))

"""Tiny RSKT-Seg (tiny sizes): random open_clip/DINO towers, CPU, no weights. Shared by the RSKT tests."""
import copy

CLIP = dict(embed_dim=32, vision_cfg=dict(image_size=64, layers=3, width=64, head_width=32, patch_size=16),
            text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=2), quick_gelu=True)
RCLIP = dict(embed_dim=32, vision_cfg=dict(image_size=64, layers=2, width=64, head_width=32, patch_size=16),
             text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=1), quick_gelu=True)
CLIP_MEAN = [122.7709383, 116.7460125, 104.09373615]
CLIP_STD = [68.5005327, 66.6321579, 70.3231630]


def tiny_model_overrides(size: int = 96) -> dict:
    """Overrides (mergeable into the real configs) that shrink every part; ``size`` = encoder input (grid size/16)."""
    return dict(
        data_preprocessor=dict(size=None),
        backbone=dict(model_cfg=CLIP, checkpoint=None, allow_random_init=True, input_size=size, out_indices=(0, 1)),
        remote_clip=dict(model_cfg=RCLIP, checkpoint=None, allow_random_init=True, input_size=size,
                         out_indices=(0, 1)),
        dino=dict(embed_dim=64, depth=4, num_heads=2, pretrain_img_size=64, input_size=size, out_indices=(0, 1, 3),
                  checkpoint=None, allow_random_init=True),
        neck=dict(embed_dim=32, dino_dim=64, hidden_dim=32, num_layers=2, appearance_guidance_dim=32,
                  text_guidance_dim=32),
        decode_head=dict(clip_width=64, remote_clip_width=64, dino_dim=64, hidden_dim=32, decoder_dims=(16, 16),
                         decoder_guidance_dims=(16, 8), decoder_guidance_proj_dims=(8, 4)),
        train_vocabulary=None, test_vocabulary=None)


def tiny_model_cfg(size: int = 96, num_classes: int = 5, **kw) -> dict:
    """A complete tiny ``RSKTSeg`` config (plain dicts)."""
    o = tiny_model_overrides(size)
    cfg = dict(
        type='RSKTSeg',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=CLIP_MEAN, std=CLIP_STD, bgr_to_rgb=True, pad_val=0,
                               seg_pad_val=255),
        backbone=dict(type='OpenCLIPDenseBackbone', **o['backbone']),
        remote_clip=dict(type='OpenCLIPIntermediateEncoder', **o['remote_clip']),
        dino=dict(type='DINOViTEncoder', patch_size=8, **o['dino']),
        neck=dict(type='RSKTCostAggregator', **o['neck']),
        decode_head=dict(type='RSKTHead', num_classes=num_classes, **o['decode_head']),
        test_cfg=dict(mode='whole'))
    for k, v in kw.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = {**cfg[k], **v}
        else:
            cfg[k] = v
    return copy.deepcopy(cfg)

# RSKT-Seg (Li et al., AAAI 2026) with CLIP ViT-B/16 @ 384, frozen RemoteCLIP ViT-B/32 @ 768 and frozen RS-DINO
# ViT-B/8 @ 384. All weights are local files (nothing downloads); paths are relative to the working directory:
#   pretrained/clip/ViT-B-16.pt                    OpenAI CLIP (github.com/openai/CLIP, clip/clip.py _MODELS)
#   pretrained/remoteclip/RemoteCLIP-ViT-B-32.pt   huggingface.co/chendelong/RemoteCLIP
#   pretrained/rs_dino/RSIB.pth                    GSNet's RS-DINO ViT-B/8 (linked from the RSKT-Seg README)
# A trained RSKT-Seg checkpoint holds all of them: testing needs only that checkpoint.
# The image is CLIP-normalised for all three encoders (authors' code) and resized inside the model.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[122.7709383, 116.7460125, 104.09373615],
    std=[68.5005327, 66.6321579, 70.3231630],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(384, 384))
model = dict(
    type='RSKTSeg',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='OpenCLIPDenseBackbone',
        model_name='ViT-B-16',
        checkpoint='pretrained/clip/ViT-B-16.pt',
        templates=('A photo of a {} in the scene', ),
        input_size=384,
        out_indices=(3, 7),
        rotations=(0, 1, 2, 3),
        dense_last_block=True,
        finetune='attention',  # q/v of both towers trainable (lr x 0.01 in the schedule)
        force_quick_gelu=True),
    remote_clip=dict(
        type='OpenCLIPIntermediateEncoder',
        model_name='ViT-B-32',
        checkpoint='pretrained/remoteclip/RemoteCLIP-ViT-B-32.pt',
        input_size=768,
        out_indices=(3, 7),
        force_quick_gelu=True),
    dino=dict(
        type='DINOViTEncoder',
        patch_size=8,
        embed_dim=768,
        depth=12,
        num_heads=12,
        input_size=384,
        out_indices=(3, 7, 11),
        checkpoint='pretrained/rs_dino/RSIB.pth',
        checkpoint_key='teacher',
        pos_embed_resize='size',  # 'scale_factor': the release's table resize (release-compatible mode)
        finetune='frozen'),
    neck=dict(
        type='RSKTCostAggregator',
        embed_dim=512,
        dino_dim=768,
        hidden_dim=128,
        num_layers=5,
        num_heads=8,
        sr_ratio=2,
        class_pool=2,
        mlp_ratio=3,
        num_rotations=4,
        num_templates=1,
        cost_fusion='separate',
        appearance_guidance_dim=128,
        text_guidance_dim=128),
    decode_head=dict(
        type='RSKTHead',
        clip_width=768,
        remote_clip_width=768,
        dino_dim=768,
        hidden_dim=128,
        decoder_dims=(64, 32),
        decoder_guidance_dims=(256, 128),
        decoder_guidance_proj_dims=(32, 16),
        num_classes=17,  # training vocabulary size (informational; test vocabularies may differ)
        align_corners=False,
        loss_decode=dict(type='OpenVocabBCELoss', loss_weight=1.0, ignore_index=255, ignore_mode='negative')),
    train_vocabulary=None,
    test_vocabulary=None,
    train_cfg=dict(),
    # release_pad_divisor=32: the release's zero padding of inputs to a multiple of 32, not cropped back
    # (release-compatible mode, set by tools/model_converters/rsktseg2mmseg.py; docs/methods/rskt_seg.md)
    test_cfg=dict(mode='whole', release_pad_divisor=None))

# The authors' stage-2 model ("B10", github.com/liqiokkk/FCtL): the patch + one medium context (lam = 2), one LCC
# (no GPE) whose output is added to pool5 (no self branch, no MCF: 'average' over one branch is the identity), no
# ALE. The target of tools/model_converters/fctl2mmseg.py for B10.epoch.pth, in the release-compatible mode (pad-100
# VGG16 trunks, the release's FCN-8s crop offsets, np.round grid). In the release the context trunk is the patch
# trunk itself (shared weights); here it is a copy (the same function until fine-tuned).
_base_ = ['./fctl_vgg16_4xb6-32k_inria-508x508_single-ctx-x2.py']
contexts = (2.0, )
# inputs as the release: [0, 1] RGB (ToTensor, no mean/std)
model = dict(
    contexts=contexts,
    data_preprocessor=dict(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0]),
    backbone=dict(type='PaddedStemVGG', stem_padding=100),
    fusion=dict(lcc=dict(use_gpe=False), mcf=dict(mode='average')),
    decode_head=dict(geometry='release'),
    test_cfg=dict(grid_rounding='half_even', merge='sum'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomRotate90', prob=0.5),
    dict(type='GenerateMultiContextPatch', patch_size=508, contexts=contexts),
    dict(type='PackSegInputs', meta_keys={{_base_.meta_keys}})
]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))

# Staged protocol of the authors' code, stage 1 ("Bfcn"): the FCN-8s local-only baseline (contexts=(1.0,), no
# fusion) with the same grid inference. Paper: 69.1 building IoU (Table 2).
_base_ = ['../fctl_vgg16_4xb6-32k_inria-508x508.py']
model = dict(contexts=(1.0, ), fusion=None)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomRotate90', prob=0.5),
    dict(type='GenerateMultiContextPatch', patch_size=508, contexts=(1.0, )),
    dict(type='PackSegInputs', meta_keys={{_base_.meta_keys}})
]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))

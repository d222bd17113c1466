# The authors' stage-3 model ("B15", github.com/liqiokkk/FCtL): as B10 with the large context (lam = 3). The
# target of tools/model_converters/fctl2mmseg.py for B15.epoch.pth.
_base_ = ['./fctl-iccv_vgg16_4xb6-32k_inria-508x508_single-ctx-x2.py']
contexts = (3.0, )
model = dict(contexts=contexts)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomRotate90', prob=0.5),
    dict(type='GenerateMultiContextPatch', patch_size=508, contexts=contexts),
    dict(type='PackSegInputs', meta_keys={{_base_.meta_keys}})
]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))

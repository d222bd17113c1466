# Staged protocol, stage 2 ("B10"): the patch + one medium context (lam = 2, its own VGG16 trunk), LCC without ALE,
# initialised from stage 1 (load_from). Its context trunk initialises the final model's lam = 2 branch.
_base_ = ['../fctl_vgg16_4xb6-32k_inria-508x508.py']
contexts = (1.0, 2.0)
model = dict(contexts=contexts, fusion=dict(use_ale=False))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomRotate90', prob=0.5),
    dict(type='GenerateMultiContextPatch', patch_size=508, contexts=contexts),
    dict(type='PackSegInputs', meta_keys={{_base_.meta_keys}})
]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
# stage 1's best checkpoint (CheckpointHook names it best_mIoU_iter_<N>.pth: set the real name); missing keys of
# the new branch are expected
load_from = 'work_dirs/fcn8s_vgg16_inria/best_mIoU.pth'

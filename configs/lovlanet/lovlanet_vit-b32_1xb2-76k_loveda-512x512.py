# LoVLANet on LoveDA, the paper's FOREGROUND-ONLY protocol (Table 1: 69.77 mIoU on val):
#   raw 0 (no-data) and 1 (background) are ignored (255) in the loss, the metric and the visualisation; the 6
#   foreground classes building..agricultural are ids 0..5 (K = 6). mmseg does this from the dataset metainfo:
#   LoadAnnotations reduces zero (0 -> 255, k -> k-1) and then BaseSegDataset's label_map {0: 255, 1: 0, ..., 6: 5}
#   drops background. Not comparable with the usual 7-class LoveDA numbers (~50-54 mIoU).
# 1 GPU x batch 2, AdamW lr 4e-4 wd 0.01, poly 0.9 over 60 epochs = 60 x 1261 = 75660 iterations, 512 crops,
# whole-image 1024^2 inference. sigma ablation (Table 4):
# configs/lovlanet/ablations/lovlanet_vit-b32_1xb2-76k_loveda-512x512_sigma*.py.
_base_ = [
    '../_base_/models/lovlanet_vit-b32.py', '../_base_/datasets/loveda.py', '../_base_/default_runtime.py'
]
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
# the text classifier reads its vocabulary from the dataset metainfo (class_names below serve tools without a
# dataset, e.g. get_complexity.py and the inference API)
custom_hooks = [dict(type='CheckpointManifestHook'), dict(type='VocabularyHook', override=True)]
class_names = ('building', 'road', 'water', 'barren', 'forest', 'agricultural')
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=6, class_names=class_names))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    # GeoSeg's random scale {0.75, 1, 1.25, 1.5} of the 1024 tiles
    dict(type='RandomChoiceResize', scales=[(768, 768), (1024, 1024), (1280, 1280), (1536, 1536)],
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
fg_metainfo = dict(classes=class_names)  # foreground-only: background becomes 255 through the label map
train_dataloader = dict(batch_size=2, dataset=dict(metainfo=fg_metainfo, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(metainfo=fg_metainfo))
test_dataloader = val_dataloader

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=4e-4, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        'pos_embed': dict(decay_mult=0.),
        'norm': dict(decay_mult=0.),
        'logit_scale': dict(decay_mult=0.)
    }))
max_iters = 75660
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0., begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=6305)  # every 5 epochs
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=6305, save_best='mIoU'))

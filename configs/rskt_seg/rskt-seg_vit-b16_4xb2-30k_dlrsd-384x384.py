# RSKT-Seg ViT-B/16, trained on DLRSD (17 classes), N = 5 RS-Fusion layers (reproduce script / released
# checkpoint), 4 GPUs x 2 images, 30k iterations. Zero-shot evaluation on the 8 OVRSISBench sets:
#   python tools/ovrsis_benchmark.py configs/rskt_seg/rskt-seg_vit-b16_4xb2-30k_dlrsd-384x384.py \
#       work_dirs/.../iter_30000.pth
_base_ = [
    '../_base_/models/rskt-seg_vit-b16.py', '../_base_/datasets/dlrsd.py', '../_base_/default_runtime.py',
    '../_base_/schedules/rskt_adamw_cosine_30k.py'
]
crop_size = (384, 384)
# ResizeShortestEdge(384, max 1333) -> random 384 crop -> SSD colour jitter -> h-flip (authors' code); no rotation aug
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='Resize', scale=(1333, 384), keep_ratio=True, backend='pillow', interpolation='bilinear'),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='PhotoMetricDistortion'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackSegInputs')
]
# ResizeShortestEdge(640, max 2560); the model resizes to 384 itself. Labels stay at the original size.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2560, 640), keep_ratio=True, backend='pillow', interpolation='bilinear'),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=2, num_workers=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
vocabulary_dir = '{{fileDirname}}/vocabularies'  # absolute: inference works from any working directory
model = dict(
    train_vocabulary=f'{vocabulary_dir}/dlrsd.txt',
    test_vocabulary=f'{vocabulary_dir}/dlrsd.txt',  # in-training validation on DLRSD val
    neck=dict(num_layers=5),
    decode_head=dict(num_classes=17))
# hands each loop's dataset classes to the model where no vocabulary is configured
custom_hooks = [dict(type='CheckpointManifestHook'), dict(type='VocabularyHook')]

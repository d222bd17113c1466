# SCSM on ISPRS Potsdam (RGB), the paper's recipe (Sec. 5.3): 8 GPUs x 2 images, 80k iterations, SGD lr 0.01 momentum
# 0.9 wd 1e-4, poly (power 0.9, eta_min 1e-4), 512x512 crops; random scale {0.5, 0.75, 1.0, 1.25, 1.5} (relative to
# the tile), horizontal + vertical flips, random 90-degree rotation; no photometric augmentation; whole-image
# inference. Means exclude clutter (5 classes; see the dataset base). ResNet-50 weights: see
# configs/_base_/models/scsm_r50-d8.py.
_base_ = [
    '../_base_/models/scsm_r50-d8.py', '../_base_/datasets/potsdam.py',
    '../_base_/default_runtime.py', '../_base_/schedules/scsm_sgd-poly_80k.py'
]
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
crop_size = (512, 512)
num_classes = 6
scale_ratios = [0.5, 0.75, 1.0, 1.25, 1.5]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    # one discrete factor relative to the tile size (mmcv's RandomChoice over relative Resize transforms)
    dict(type='RandomChoice',
         transforms=[[dict(type='Resize', scale_factor=r, keep_ratio=True)] for r in scale_ratios]),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='RandomRotate90', prob=0.5),
    dict(type='PackSegInputs')
]
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=num_classes),
    auxiliary_head=dict(num_classes=num_classes))
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))

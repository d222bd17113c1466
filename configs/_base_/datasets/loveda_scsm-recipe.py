# The SCSM paper's data recipe (Sec. 5.3) on LoveDA (7 classes; train split only, as in the paper): 2 images per GPU,
# 512x512 crops after a random scale factor from {0.5, 0.75, 1.0, 1.25, 1.5} relative to the tile, horizontal +
# vertical flips, random 90-degree rotation, no photometric augmentation. Shared by the SCSM and LOGCAN++ configs.
_base_ = ['./loveda.py']
crop_size = (512, 512)
num_classes = 7
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
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))

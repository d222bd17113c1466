# The SCSM paper's data recipe (Sec. 5.3) on iSAID (val patches of the mmseg converter): 2 images per GPU, 896x896
# crops after a random scale factor from {0.5, 0.75, 1.0, 1.25, 1.5} relative to the tile, horizontal + vertical
# flips, random 90-degree rotation, no photometric augmentation. Shared by the SCSM and LOGCAN++ configs.
_base_ = ['./isaid.py']
crop_size = (896, 896)
num_classes = 16
scale_ratios = [0.5, 0.75, 1.0, 1.25, 1.5]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
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

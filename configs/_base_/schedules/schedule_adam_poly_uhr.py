# FCtL schedule: Adam lr 5e-5 (wd 5e-4, the authors' code), poly decay to 0 every iteration. One optimiser step per
# `accumulative_counts` iterations emulates the paper's "mini-batch of 6 images by gradient accumulation"; the
# method configs set the length (DeepGlobe 34.2k iters, acc 9; Inria 31.5k iters, acc 30; 4 GPUs x 6 patches).
optim_wrapper = dict(
    type='OptimWrapper',
    accumulative_counts=9,
    optimizer=dict(type='Adam', lr=5e-5, betas=(0.9, 0.999), weight_decay=5e-4),
    clip_grad=None)
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=34200, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=34200, val_interval=3420)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=3420, save_best='mIoU', max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))

# RSKT-Seg schedule (authors' code): AdamW lr 2e-4, wd 1e-4 (0 on norm layers), CLIP (q/v) lr x 0.01, cosine to 0 over
# 30k iterations without warm-up, full-model gradient clipping at L2 norm 0.01; batch 8 in total (4 GPUs x 2).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'backbone.text_encoder.clip': dict(lr_mult=0.01)}, norm_decay_mult=0.0),
    clip_grad=dict(max_norm=0.01, norm_type=2))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=30000, eta_min=0.0, by_epoch=False, begin=0, end=30000)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=30000, val_interval=5000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))

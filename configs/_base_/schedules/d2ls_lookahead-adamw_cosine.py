# D2LS schedule (the authors' released configs): Lookahead(AdamW) lr 1e-4, wd 0.01 on all parameters, cosine to
# 1e-6 per iteration, no warm-up, a best checkpoint at every validation. A child sets max_iters and val_interval
# and restates param_scheduler (T_max = max_iters), train_cfg and the checkpoint interval with them.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LookaheadAdamW', lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, k=5,
                   alpha=0.5),  # type='AdamW' (without k/alpha) switches Lookahead off
    clip_grad=None)
train_cfg = dict(type='IterBasedTrainLoop')
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=False, save_best='mIoU', max_keep_ckpts=1))
randomness = dict(seed=42)
auto_scale_lr = dict(enable=False, base_batch_size=4)
# every head parameter is used in every step (no unused SAM modules, no conv_seg)
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=False)

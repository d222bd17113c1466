# The `make demo` model: a tiny FCN trained for a few dozen CPU iterations on the synthetic land-cover tiles.
_base_ = [
    '../_base_/models/fcn_r18-tiny.py', '../_base_/datasets/synthetic.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
env_cfg = dict(cudnn_benchmark=False)
crop_size = (128, 128)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)

optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamW', lr=3e-3, weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=120, by_epoch=False)]
train_cfg = dict(max_iters=120, val_interval=120)
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=120))
randomness = dict(seed=0)

# The `make demo` model: D2LS (dynamic dictionary head) on a from-scratch ConvNeXt-atto, trained for 300 CPU
# iterations (about 2 minutes on 2 cores) on the synthetic land-cover tiles. Same modules as configs/d2ls/d2ls_convnext_loveda.py, tiny.
_base_ = [
    '../_base_/models/d2ls_convnext.py', '../_base_/datasets/synthetic.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
env_cfg = dict(cudnn_benchmark=False)
num_classes = 6
crop_size = (128, 128)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(arch='atto', drop_path_rate=0.0, init_cfg=None),  # no pretrained weights in the demo
    decode_head=dict(in_channels=[40, 80, 160, 320], channels=64, num_heads=2, num_classes=num_classes))

optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='LookaheadAdamW', lr=2e-3, weight_decay=0.01, k=5, alpha=0.5))
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=300, by_epoch=False)]
train_cfg = dict(max_iters=300, val_interval=300)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=300))
randomness = dict(seed=0)

# FCtL, SegFormer MiT-B2 encoders + SegFormer head, DeepGlobe (paper Table 1: 74.8 mIoU). The paper gives no MiT
# hyper-parameters: the VGG16 recipe (Adam 5e-5) is kept.
_base_ = [
    '../_base_/models/fctl_mit-b2.py', '../_base_/datasets/deepglobe.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_adam_poly_uhr.py'
]
# scene_window: tools/infer_scene.py segments a scene in windows of the training image size (one FCtL image each)
model = dict(contexts=(1.0, 3.0, 'global'), decode_head=dict(num_classes=7), test_cfg=dict(scene_window=2448))
optim_wrapper = dict(accumulative_counts=9)
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=34200, by_epoch=False)]
train_cfg = dict(max_iters=34200, val_interval=3420)

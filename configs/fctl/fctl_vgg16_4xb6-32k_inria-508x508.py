# FCtL, VGG16 / FCN-8s, Inria Aerial: contexts (508, 1016, 1524), LCF + GPE + ALE (d), focal gamma 3.
# 4 GPUs x 6 patches, 30-step accumulation (720 patches ~ 6 images per step), 31.5k iters = 50 epochs.
# Paper (Table 2): 74.6 building IoU / 85.4 F1 / 94.8 Acc on the 27 test images.
_base_ = [
    '../_base_/models/fctl_vgg16-fcn8s.py', '../_base_/datasets/inria.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_adam_poly_uhr.py'
]
# scene_window: tools/infer_scene.py segments a scene in windows of the training image size (one FCtL image each)
model = dict(contexts=(1.0, 2.0, 3.0), decode_head=dict(num_classes=2), test_cfg=dict(scene_window=5000))
optim_wrapper = dict(accumulative_counts=30)
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=31500, by_epoch=False)]
train_cfg = dict(max_iters=31500, val_interval=3150)
default_hooks = dict(checkpoint=dict(interval=3150))

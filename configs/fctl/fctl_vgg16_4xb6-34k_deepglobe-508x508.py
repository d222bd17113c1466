# FCtL, VGG16 / FCN-8s, DeepGlobe: contexts (508, 1524, 2448 = the whole image), LCF + GPE + ALE (d), focal gamma 3.
# 4 GPUs x 6 patches, 9-step accumulation (216 patches = 6 images per optimiser step), 34.2k iters = 50 epochs.
# Paper (Table 1): 73.9 mIoU / 84.1 F1 / 88.5 Acc on the 142 test images (mIoU over classes 1-6).
_base_ = [
    '../_base_/models/fctl_vgg16-fcn8s.py', '../_base_/datasets/deepglobe.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_adam_poly_uhr.py'
]
# scene_window: tools/infer_scene.py segments a scene in windows of the training image size (one FCtL image each)
model = dict(contexts=(1.0, 3.0, 'global'), decode_head=dict(num_classes=7), test_cfg=dict(scene_window=2448))
optim_wrapper = dict(accumulative_counts=9)
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, begin=0, end=34200, by_epoch=False)]
train_cfg = dict(max_iters=34200, val_interval=3420)

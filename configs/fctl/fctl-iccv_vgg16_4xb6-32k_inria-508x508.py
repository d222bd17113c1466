# FCtL as the authors' ICCV'21 release computes it (the "LCC" version, github.com/liqiokkk/FCtL, Inria, HEAD):
# contexts (508, 1016, 1524), LCC without GPE + adaptive MCF (sigmoid before the softmax), no ALE, the two
# context trunks frozen (the release's final stage). The target of tools/model_converters/fctl2mmseg.py for
# all.epoch.pth + B10.epoch.pth + B15.epoch.pth, in the release-compatible mode (docs/methods/fctl.md,
# "Converting the authors' checkpoints"): every VGG16 trunk pads conv1_1 by 100, the FCN-8s head uses the release's
# unpadded conv6 / deconvolutions and crop offsets 5 / 9 / 31, the patch grid rounds half to even (np.round)
# and overlapping patch logits are summed (patch2global).
_base_ = ['./fctl_vgg16_4xb6-32k_inria-508x508.py']
# The release feeds [0, 1] RGB (ToTensor, no mean/std) and its test.sh averages the 8 flips x rot90 (D4) logits.
model = dict(
    data_preprocessor=dict(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0]),
    backbone=dict(type='PaddedStemVGG', stem_padding=100),  # the context trunks are copies of this config
    freeze_context_backbone=True,
    fusion=dict(use_ale=False, lcc=dict(use_gpe=False)),
    decode_head=dict(geometry='release'),
    test_cfg=dict(tta='d4', grid_rounding='half_even', merge='sum'))
# Training with this config follows the paper-faithful recipe of fctl_vgg16_inria.py. The release's own recipe is
# one flag each (docs/methods/fctl.md, "Training recipe of the release"):
#   --cfg-options param_scheduler.0.type=ResumedPolyLR param_scheduler.0.start_fraction=0.5   (its epochs 50-99)
#   --cfg-options optim_wrapper.type=SummedLossOptimWrapper optim_wrapper.loss_scale=6        (summed sub-batches)

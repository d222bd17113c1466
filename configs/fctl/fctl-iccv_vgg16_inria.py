# FCtL as the authors' ICCV'21 release computes it (the "LCC" version, github.com/liqiokkk/FCtL, Inria, HEAD):
# contexts (508, 1016, 1524), LCC without GPE + adaptive MCF (sigmoid before the softmax), no ALE, the two
# context trunks frozen (the release's final stage). The target of tools/model_converters/fctl2mmseg.py for
# all.epoch.pth + B10.epoch.pth + B15.epoch.pth. Same VGG16 geometry as our other configs (padding 1, no pad-100
# trick): the converted weights compute the release's layers, not its exact border behaviour
# (docs/methods/fctl.md, "Converting the authors' checkpoints").
_base_ = ['./fctl_vgg16_inria.py']
# The release feeds [0, 1] RGB (ToTensor, no mean/std) and its test.sh averages the 8 flips x rot90 (D4) logits.
model = dict(
    data_preprocessor=dict(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0]),
    freeze_context_backbone=True,
    fusion=dict(use_ale=False, lcc=dict(use_gpe=False)),
    test_cfg=dict(tta='d4'))

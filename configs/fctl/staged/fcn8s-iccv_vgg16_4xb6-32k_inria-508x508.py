# The authors' stage-1 model ("Bfcn", github.com/liqiokkk/FCtL; not in the release's download folder): the FCN-8s
# local-only baseline as the release computes it. The target of tools/model_converters/fctl2mmseg.py for
# Bfcn.epoch.pth, in the release-compatible mode: [0, 1] RGB inputs, pad-100 VGG16, the release's FCN-8s crop
# offsets, np.round grid. Train from scratch with fcn8s_vgg16_4xb6-32k_inria-508x508.py (the paper-faithful geometry).
_base_ = ['./fcn8s_vgg16_4xb6-32k_inria-508x508.py']
model = dict(
    data_preprocessor=dict(mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0]),
    backbone=dict(type='PaddedStemVGG', stem_padding=100),
    decode_head=dict(geometry='release'),
    test_cfg=dict(grid_rounding='half_even', merge='sum'))

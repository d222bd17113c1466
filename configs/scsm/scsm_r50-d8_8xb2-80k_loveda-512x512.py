# SCSM on LoveDA (7 classes; train split only, as in the paper), the paper's recipe (Sec. 5.3): 8 GPUs x 2 images, 80k
# iterations, SGD lr 0.01 momentum 0.9 wd 1e-4, poly (power 0.9, eta_min 1e-4), 512x512 crops; random scale {0.5,
# 0.75, 1.0, 1.25, 1.5} (relative to the tile), horizontal + vertical flips, random 90-degree rotation; no photometric
# augmentation; whole-image inference. ResNet-50 weights: see configs/_base_/models/scsm_r50-d8.py.
_base_ = [
    '../_base_/models/scsm_r50-d8.py', '../_base_/datasets/loveda_scsm-recipe.py',
    '../_base_/default_runtime.py', '../_base_/schedules/scsm_sgd-poly_80k.py'
]
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
    decode_head=dict(num_classes={{_base_.num_classes}}),
    auxiliary_head=dict(num_classes={{_base_.num_classes}}))

# LOGCAN++ (plain ResNet-50, output stride 32; the head block is configs/_base_/models/logcanplus_r50.py) as
# SCSM's baseline, trained with exactly the SCSM recipe of ../scsm/scsm_r50-d8_8xb2-80k_isaid-896x896.py (data:
# configs/_base_/datasets/isaid_scsm-recipe.py; schedule: configs/_base_/schedules/scsm_sgd-poly_80k.py) for a
# like-for-like comparison.
_base_ = [
    '../_base_/models/logcanplus_r50.py', '../_base_/datasets/isaid_scsm-recipe.py',
    '../_base_/default_runtime.py', '../_base_/schedules/scsm_sgd-poly_80k.py'
]
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}), decode_head=dict(num_classes={{_base_.num_classes}}))

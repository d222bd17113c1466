# Loss variant of the released code ([C] UnetFormerLoss): the static branch gets 0.4 x label-smoothed CE only
# (no Dice). The paper (our default) uses 0.4 x (CE + Dice).
_base_ = ['../d2ls_convnext-b_8xb1-16k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(
    decode_head=dict(loss_static=[
        dict(type='SoftCrossEntropyLoss', smooth_factor=0.05, loss_weight=0.4, loss_name='loss_ce_static')
    ]))

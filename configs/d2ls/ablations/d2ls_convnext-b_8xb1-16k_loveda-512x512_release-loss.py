# The released code's loss exactly ([C] config/loveda/d2ls.py: UnetFormerLoss, use_aux_loss=True, the decoder built
# with has_contrastive_loss=False): dynamic branch label-smoothed CE + Dice (weight 1 each), static branch 0.4 x
# label-smoothed CE only (no Dice), and no dictionary contrastive term. The paper (our default) adds the contrastive
# loss and Dice on the static branch. Everything else is ../d2ls_convnext-b_8xb1-16k_loveda-512x512.py.
_base_ = ['../d2ls_convnext-b_8xb1-16k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(
    decode_head=dict(
        loss_static=[
            dict(type='SoftCrossEntropyLoss', smooth_factor=0.05, loss_weight=0.4, loss_name='loss_ce_static')
        ],
        loss_contrast=None))

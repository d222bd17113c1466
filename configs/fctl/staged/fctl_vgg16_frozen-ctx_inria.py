# renamed (OpenMMLab naming); kept for one release:
# fctl_vgg16_4xb6-32k_inria-508x508_frozen-ctx.py
_base_ = ['./fctl_vgg16_4xb6-32k_inria-508x508_frozen-ctx.py']

# renamed (OpenMMLab naming); kept for one release:
# fctl-iccv_vgg16_4xb6-32k_inria-508x508_single-ctx-x2.py
_base_ = ['./fctl-iccv_vgg16_4xb6-32k_inria-508x508_single-ctx-x2.py']

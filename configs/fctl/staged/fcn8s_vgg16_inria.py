# renamed (OpenMMLab naming); kept for one release:
# fcn8s_vgg16_4xb6-32k_inria-508x508.py
_base_ = ['./fcn8s_vgg16_4xb6-32k_inria-508x508.py']

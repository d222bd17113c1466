# renamed (OpenMMLab naming); kept for one release:
# fctl_mit-b2_4xb6-32k_inria-508x508.py
_base_ = ['./fctl_mit-b2_4xb6-32k_inria-508x508.py']

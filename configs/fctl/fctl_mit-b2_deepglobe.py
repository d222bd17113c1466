# renamed (OpenMMLab naming); kept for one release:
# fctl_mit-b2_4xb6-34k_deepglobe-508x508.py
_base_ = ['./fctl_mit-b2_4xb6-34k_deepglobe-508x508.py']

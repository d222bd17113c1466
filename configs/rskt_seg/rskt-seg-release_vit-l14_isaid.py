# renamed (OpenMMLab naming); kept for one release:
# rskt-seg-release_vit-l14_4xb2-30k_isaid-384x384.py
_base_ = ['./rskt-seg-release_vit-l14_4xb2-30k_isaid-384x384.py']

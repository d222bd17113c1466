# The released code's dictionary-free variant ([C] DynamicDictionaryLearning(last_line=True)): aggregated features
# E0 -> the pixel-shuffle upsampler -> a 1x1 classifier; no dictionary, interactor, static branch or contrastive
# loss. Loss: [C]'s main loss (label-smoothed CE + Dice). Everything else is
# ../d2ls_convnext-b_8xb1-16k_loveda-512x512.py.
_base_ = ['../d2ls_convnext-b_8xb1-16k_loveda-512x512.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(decode_head=dict(last_line=True, loss_static=None, loss_contrast=None))

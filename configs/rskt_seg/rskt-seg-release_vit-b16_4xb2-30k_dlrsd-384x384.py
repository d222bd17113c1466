# RSKT-Seg vit-b16_dlrsd, release-compatible mode: the config tools/model_converters/rsktseg2mmseg.py picks for the
# authors' released checkpoint. As the release code does, the DINO position table is resized by a scale factor
# (not to the target size) and inputs are zero-padded to a multiple of 32 and never cropped back
# (docs/methods/rskt_seg.md, "Release weights"). Train from scratch with the paper-faithful rskt-seg_vit-b16_dlrsd.py.
_base_ = ['./rskt-seg_vit-b16_4xb2-30k_dlrsd-384x384.py']
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
model = dict(dino=dict(pos_embed_resize='scale_factor'), test_cfg=dict(release_pad_divisor=32))

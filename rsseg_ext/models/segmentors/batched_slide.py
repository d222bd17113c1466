"""Segmentor-level slide mode on the strip blender (:func:`rsseg_ext.models.utils.blending.blend_slide`).

``test_cfg=dict(mode='slide', crop_size=(h, w), stride=(sh, sw), batch_windows=N[, blend='mean'|'gaussian'])``:

* ``batch_windows``: windows per forward pass (mmseg's own slide mode runs one at a time). Pays on GPUs; on a
  CPU batching is about 1.0x.
* ``blend``: ``'mean'`` (default) gives mmseg's ``slide_inference`` result (within 1e-5: the same windows and
  additions, but convolutions over other batch shapes may round differently); ``'gaussian'`` weights windows by a centred Gaussian (no seams).
* the working memory of the blending is one strip of windows (``C x crop_h x W``) instead of mmseg's second
  full-image count map; the returned logits are the full image, as mmseg's API requires.

Configs keep ``type='EncoderDecoder'``: ``tools/test.py`` (through ``rsseg_ext.engine.cli.prepare_launch`` ->
:func:`use_batched_slide`) swaps it for :class:`BatchedSlideEncoderDecoder` when ``test_cfg.batch_windows`` is set.
Naming the type directly in a config works too.
"""
import copy
from typing import List, Optional

from mmseg.models.segmentors import CascadeEncoderDecoder, EncoderDecoder
from mmseg.registry import MODELS
from torch import Tensor

from rsseg_ext.models.utils.blending import blend_slide

__all__ = ['BatchedSlideMixin', 'BatchedSlideEncoderDecoder', 'BatchedSlideCascadeEncoderDecoder',
           'use_batched_slide', 'BATCHED_SLIDE_TYPES']


class BatchedSlideMixin:
    """Replaces ``slide_inference`` of an ``EncoderDecoder``-like segmentor with the batched strip engine."""

    def slide_inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        cfg = self.test_cfg
        return blend_slide(self.encode_decode, inputs, cfg.crop_size, cfg.stride,
                           batch=int(cfg.get('batch_windows', 1) or 1), blend=cfg.get('blend', 'mean'),
                           batch_img_metas=batch_img_metas)


@MODELS.register_module()
class BatchedSlideEncoderDecoder(BatchedSlideMixin, EncoderDecoder):
    """mmseg's ``EncoderDecoder`` with batched slide inference (``test_cfg.batch_windows``)."""


@MODELS.register_module()
class BatchedSlideCascadeEncoderDecoder(BatchedSlideMixin, CascadeEncoderDecoder):
    """mmseg's ``CascadeEncoderDecoder`` with batched slide inference (``test_cfg.batch_windows``)."""


#: stock segmentor type -> its batched-slide version
BATCHED_SLIDE_TYPES = {
    'EncoderDecoder': 'BatchedSlideEncoderDecoder',
    'CascadeEncoderDecoder': 'BatchedSlideCascadeEncoderDecoder',
}


def use_batched_slide(model_cfg: Optional[dict]) -> bool:
    """Swap ``type='EncoderDecoder'`` (or ``CascadeEncoderDecoder``, with or without an ``mmseg.`` scope) for the
    batched-slide version when ``test_cfg.mode == 'slide'`` and ``test_cfg.batch_windows`` is set. In place; a
    TTA wrapper's ``module`` is followed. Returns whether a swap happened. Other segmentors are left alone.
    """
    if model_cfg is None:
        return False
    if 'module' in model_cfg and isinstance(model_cfg.get('module'), dict):  # SegTTAModel(module=...)
        return use_batched_slide(model_cfg['module'])
    test_cfg = model_cfg.get('test_cfg') or {}
    if test_cfg.get('mode') != 'slide' or not test_cfg.get('batch_windows'):
        return False
    typ = model_cfg.get('type')
    if not isinstance(typ, str):
        return False
    scope, _, name = typ.rpartition('.')
    if name not in BATCHED_SLIDE_TYPES or scope not in ('', 'mmseg'):
        return False
    model_cfg['type'] = BATCHED_SLIDE_TYPES[name]
    return True


def batched_slide_cfg(model_cfg: dict) -> dict:
    """A copy of ``model_cfg`` with the swap of :func:`use_batched_slide` applied."""
    cfg = copy.deepcopy(model_cfg)
    use_batched_slide(cfg)
    return cfg

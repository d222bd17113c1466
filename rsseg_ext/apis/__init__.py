"""Inference APIs: the whole-scene (GeoTIFF) engine (:mod:`rsseg_ext.apis.scene`) behind ``tools/infer_scene.py``.

The window grid and blending (``slide_grid``, ``window_weights``, ``StripBlender``, ``blend_slide``) live in
:mod:`rsseg_ext.models.utils.blending`, where the segmentors' slide modes use them; they are re-exported here.
"""
from .scene import (MIN_WINDOW, OUTPUT_NODATA, SceneInferencer, StripBlender, blend_slide, probs_path_for,
                    slide_grid, window_weights, write_overlay_png)

__all__ = [
    'SceneInferencer', 'StripBlender', 'blend_slide', 'slide_grid', 'window_weights', 'write_overlay_png',
    'probs_path_for', 'OUTPUT_NODATA', 'MIN_WINDOW'
]

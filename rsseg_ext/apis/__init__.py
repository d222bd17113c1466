"""Inference APIs: the whole-scene (GeoTIFF) engine shared by ``tools/infer_scene.py`` and slide-mode segmentors."""
from .scene_inferencer import (MIN_WINDOW, OUTPUT_NODATA, SceneInferencer, StripBlender, blend_slide,
                               probs_path_for, slide_grid, window_weights, write_overlay_png)

__all__ = [
    'SceneInferencer', 'StripBlender', 'blend_slide', 'slide_grid', 'window_weights', 'write_overlay_png',
    'probs_path_for', 'OUTPUT_NODATA', 'MIN_WINDOW'
]

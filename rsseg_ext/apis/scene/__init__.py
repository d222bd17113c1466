"""The whole-scene (GeoTIFF) engine, one concept per module:

* :mod:`.inferencer` -- :class:`SceneInferencer`: windows -> model -> blended rows, bounded memory;
* :mod:`.raster_io` -- opening the input, the background window reader, creating and checked writing of the
  output GeoTIFFs;
* :mod:`.resume` -- output and temp names, the progress sidecar, resuming and finishing a run;
* :mod:`.writer` -- the background writer thread (labels, probabilities, blocks, checkpoints);
* :mod:`.overlay` -- the colour overlay PNG.

The window grid and blending it uses live in :mod:`rsseg_ext.models.utils.blending` (the segmentors' slide modes
share them) and are re-exported here.
"""
from ...models.utils.blending import StripBlender, blend_slide, slide_grid, window_weights
from .inferencer import DEFAULT_OVERLAP, DEFAULT_WINDOW, MIN_WINDOW, SceneInferencer, cpu_has_native_bf16
from .overlay import write_overlay_png
from .raster_io import OUTPUT_NODATA, TILE
from .resume import partial_paths, probs_path_for

__all__ = [
    'SceneInferencer', 'StripBlender', 'blend_slide', 'slide_grid', 'window_weights', 'write_overlay_png',
    'probs_path_for', 'partial_paths', 'cpu_has_native_bf16', 'OUTPUT_NODATA', 'MIN_WINDOW', 'DEFAULT_WINDOW',
    'DEFAULT_OVERLAP', 'TILE'
]

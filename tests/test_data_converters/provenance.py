"""Provenance by pixels: an output tile must be the right window of the right source product."""
import re
from typing import Dict, Optional

import numpy as np


def tile_origin(name: str):
    """``'<scene>_<y>_<x>'`` -> (scene, y, x)."""
    mt = re.fullmatch(r'(.+)_(\d+)_(\d+)', name)
    assert mt, f'{name} is not a <scene>_<y>_<x> tile name'
    return mt.group(1), int(mt.group(2)), int(mt.group(3))


def assert_window(tile: np.ndarray, source: np.ndarray, y: int, x: int, what: str,
                  impostors: Optional[Dict[str, np.ndarray]] = None) -> None:
    """``tile`` is ``source[y:y+h, x:x+w]`` exactly, and no impostor product (a label rendering, another band
    combination, ...) gives the same window."""
    h, w = tile.shape[:2]
    assert y + h <= source.shape[0] and x + w <= source.shape[1], f'{what}: window outside the source'
    window = source[y:y + h, x:x + w]
    assert tile.shape == window.shape, f'{what}: {tile.shape} vs source window {window.shape}'
    for name, other in (impostors or {}).items():
        other_win = other[y:y + h, x:x + w]
        assert not (other_win.shape == tile.shape and np.array_equal(other_win, tile)), \
            f'{what} equals the {name} product'
    assert np.array_equal(tile, window), f'{what} is not the window ({y}, {x}) of its source image'


def modes_under_umask(convert, out: str, umask: int) -> set:
    """Run ``convert()`` under ``umask``; the permission bits of every file written under ``out``."""
    import os
    old = os.umask(umask)
    try:
        convert()
    finally:
        os.umask(old)
    return {os.stat(os.path.join(d, f)).st_mode & 0o777 for d, _, fs in os.walk(out) for f in fs}

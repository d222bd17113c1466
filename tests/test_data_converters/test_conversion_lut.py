"""rgb_to_index: the byte-table path (few values per channel) and the 24-bit table agree, errors name the colour."""
import os.path as osp
import re
import sys

import numpy as np
import pytest

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'data_converters'))
import _common  # noqa: E402

ISPRS = {(0, 0, 0): 0, (255, 255, 255): 1, (0, 0, 255): 2, (0, 255, 255): 3, (0, 255, 0): 4, (255, 255, 0): 5,
         (255, 0, 0): 6}
# maps a colour to 255 (ignore): the "unknown" byte must then be another value
WITH_IGNORE = {(0, 0, 0): 255, (1, 2, 3): 0, (4, 5, 6): 1}
# 17 colours with many distinct channel values (DLRSD): codes do not fit in a byte, the 24-bit table is used
DLRSD = {c: i for i, c in enumerate([
    (166, 202, 240), (128, 128, 0), (0, 0, 128), (255, 0, 0), (0, 128, 0), (128, 0, 0), (255, 233, 233),
    (160, 160, 164), (0, 128, 128), (90, 87, 255), (255, 255, 0), (255, 192, 0), (0, 0, 255), (255, 0, 192),
    (128, 0, 128), (0, 255, 0), (0, 255, 255)])}


@pytest.mark.parametrize('palette,small', [(ISPRS, True), (WITH_IGNORE, True), (DLRSD, False)])
def test_rgb_to_index_paths_agree(palette, small):
    assert (_common._slot_luts(tuple(sorted(palette.items()))) is not None) == small
    rng = np.random.default_rng(0)
    colours = np.array(list(palette), np.uint8)
    lab = colours[rng.integers(0, len(colours), (23, 31))]
    want = np.array([[palette[tuple(int(v) for v in px)] for px in row] for row in lab], np.uint8)
    # interleaved, band-planar (a rasterio read) and channel-reversed views (a cv2 BGR read) give the same
    for view in (lab, lab.transpose(2, 0, 1).copy().transpose(1, 2, 0),
                 np.ascontiguousarray(lab[..., ::-1])[..., ::-1]):
        out = _common.rgb_to_index(view, palette, 'lab.png')
        assert out.dtype == np.uint8 and np.array_equal(out, want)


@pytest.mark.parametrize('palette', [ISPRS, WITH_IGNORE, DLRSD])
def test_rgb_to_index_unknown_colour(palette):
    lab = np.zeros((9, 11, 3), np.uint8) + np.array(next(iter(palette)), np.uint8)
    # a colour whose channel values all occur in the palette, but not together
    lab[4, 6] = (255, 0, 255) if palette is ISPRS else (0, 2, 6) if palette is WITH_IGNORE else (166, 0, 0)
    lab[7, 2] = (7, 7, 7)
    colour = tuple(int(v) for v in lab[4, 6])
    with pytest.raises(_common.ConversionError,
                       match=re.escape(f'lab.png: colour {colour} at (row 4, col 6)') + r'.*\(2 pixel\(s\) in all\)'):
        _common.rgb_to_index(lab, palette, 'lab.png')

"""The FCtL/GLNet patch grid and context-window geometry (FCtL paper Sec. 3.2), in rsseg_ext/utils/grid.py."""
import pytest

from rsseg_ext.utils.grid import context_window, slide_grid, uhr_grid, uhr_positions


def test_deepglobe_grid_positions_and_overlap():
    pos = uhr_positions(2448, 508)
    assert pos == [0, 388, 776, 1164, 1552, 1940]
    assert {508 - (b - a) for a, b in zip(pos, pos[1:])} == {120}  # the paper's 120 x 508 overlap
    grid = uhr_grid(2448, 2448, 508)
    assert len(grid) == 36
    # mmseg's slide grid with crop 508 / stride 388 is the same grid, in the same order
    assert slide_grid(2448, 2448, 508, 388) == grid


def test_inria_grid_positions_and_overlap():
    pos = uhr_positions(5000, 508)
    assert pos == [0, 449, 898, 1348, 1797, 2246, 2695, 3144, 3594, 4043, 4492]
    overlaps = [508 - (b - a) for a, b in zip(pos, pos[1:])]
    assert min(overlaps) >= 50 and max(overlaps) <= 60  # ~59 px, not 120
    assert len(uhr_grid(5000, 5000, 508)) == 121


@pytest.mark.parametrize('size', [508, 509, 600, 1016, 1017, 2448, 3000, 5000, 7777])
def test_grid_covers_with_min_overlap(size):
    pos = uhr_positions(size, 508, 50)
    assert pos[0] == 0 and pos[-1] + 508 == size
    assert all(508 - (b - a) >= 50 for a, b in zip(pos, pos[1:]))
    # the smallest n: one patch fewer would break the overlap rule
    n = len(pos)
    if n > 2:
        assert 508 - (size - 508) / (n - 2) < 50 or (n - 1) * 508 < size


def test_grid_small_image_and_bad_args():
    assert uhr_positions(300, 508) == [0]
    assert uhr_grid(300, 700, 508) == [(0, 0, 508, 508), (0, 192, 508, 700)]
    with pytest.raises(ValueError, match='min_overlap'):
        uhr_positions(1000, 100, 100)


def test_centred_context_windows_match_the_codes_pad_then_crop():
    p = 508
    for lam, sz in ((2.0, 254), (3.0, 508)):  # code: sz = (lam - 1) p / 2 of padding, then a lam*p crop
        win, box = context_window((388, 776, 896, 1284), lam, 2448, 2448)
        assert win == (388 - sz, 776 - sz, 388 - sz + int(lam * p), 776 - sz + int(lam * p))
        assert box == pytest.approx((0.5 - 0.5 / lam,) * 2 + (0.5 + 0.5 / lam,) * 2)
        # the window centre is the patch centre
        assert ((win[0] + win[2]) / 2, (win[1] + win[3]) / 2) == (388 + 254, 776 + 254)
    # corner patch: the window starts outside the image (zero-padded, not shifted)
    assert context_window((0, 0, p, p), 3.0, 2448, 2448)[0] == (-p, -p, 2 * p, 2 * p)


def test_global_and_shifted_windows():
    win, box = context_window((1940, 388, 2448, 896), 'global', 2448, 3000)
    assert win == (0, 0, 2448, 3000)
    assert box == pytest.approx((388 / 3000, 1940 / 2448, 896 / 3000, 1.0))
    win, box = context_window((0, 0, 508, 508), 3.0, 2448, 2448, border='shift')
    assert win == (0, 0, 1524, 1524) and box == pytest.approx((0, 0, 1 / 3, 1 / 3))
    with pytest.raises(ValueError, match="'global'"):
        context_window((0, 0, 508, 508), 0.5, 2448, 2448)

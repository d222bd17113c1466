"""ROPE+ (SCSM Eqs. 11-17)."""
import pytest
import torch

from rsseg_ext.models.utils import ROPE2D


def _grid(h, w):
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    return xs.reshape(-1), ys.reshape(-1)


def _rotate_at(rope, x, px, py):
    phi = rope.angles(px, py)
    return ROPE2D.rotate(x, phi.cos(), phi.sin())


@pytest.mark.parametrize('mode', ['mixed', 'identical'])
def test_scores_depend_only_on_offsets(mode):
    torch.manual_seed(0)
    rope = ROPE2D(16, mode=mode).double()
    q, k = torch.randn(30, 16, dtype=torch.float64), torch.randn(30, 16, dtype=torch.float64)
    px, py = torch.randint(0, 50, (30, )), torch.randint(0, 50, (30, ))
    scores = _rotate_at(rope, q, px, py) @ _rotate_at(rope, k, px, py).T
    for dx, dy in [(3, 0), (0, 7), (-11, 5)]:
        shifted = _rotate_at(rope, q, px + dx, py + dy) @ _rotate_at(rope, k, px + dx, py + dy).T
        assert torch.allclose(scores, shifted, atol=1e-10)


def test_norm_preserved_and_origin_is_identity():
    rope = ROPE2D(8)
    x = torch.randn(2, 3 * 4, 8)
    y = rope(x, (3, 4))
    assert torch.allclose(x.norm(dim=-1), y.norm(dim=-1), atol=1e-5)
    assert torch.equal(y[:, 0], x[:, 0])  # position (0, 0)


def test_direction_sensitivity():
    mixed, ident = ROPE2D(16, mode='mixed'), ROPE2D(16, mode='identical')
    one = torch.tensor([1]), torch.tensor([0])
    other = torch.tensor([0]), torch.tensor([1])
    assert torch.allclose(ident.angles(*one), ident.angles(*other))
    assert not torch.allclose(mixed.angles(*one), mixed.angles(*other))
    # the y frequencies sit between consecutive x frequencies (Eq. 16 as reconstructed)
    assert torch.all(mixed.theta_y < mixed.theta_x) and torch.all(mixed.theta_y[:-1] > mixed.theta_x[1:])


def test_constant_tokens_give_block_toeplitz_scores():
    rope = ROPE2D(8).double()
    h = w = 5
    c = torch.randn(8, dtype=torch.float64)
    x = c.expand(h * w, 8)
    s = rope(x, (h, w)) @ rope(x, (h, w)).T  # (25, 25)
    s = s.reshape(h, w, h, w)
    # score depends only on (dy, dx): compare every pair with the same offset to the pair anchored at (0, 0)
    for y0, x0, y1, x1 in [(1, 2, 3, 4), (2, 0, 4, 1), (4, 4, 0, 0)]:
        dy, dx = y1 - y0, x1 - x0
        ay, ax = max(0, -dy), max(0, -dx)
        assert torch.allclose(s[y0, x0, y1, x1], s[ay, ax, ay + dy, ax + dx])


def test_validation():
    with pytest.raises(ValueError, match='even'):
        ROPE2D(7)
    with pytest.raises(ValueError, match='mode'):
        ROPE2D(8, mode='x')
    with pytest.raises(ValueError, match='expected'):
        ROPE2D(8)(torch.randn(1, 10, 8), (3, 4))

"""DCT channel attention (SCSM Eqs. 19-25, FcaNet)."""
import pytest
import torch

from rsseg_ext.models.utils import DCTChannelAttention
from rsseg_ext.models.utils.dct import dct_1d_basis, dct_2d_filter, top_frequencies


@pytest.mark.parametrize('p', [7, 21])
def test_basis_orthonormal_and_invertible(p):
    basis = torch.stack([dct_2d_filter(p, p, u, v).reshape(-1) for u in range(p) for v in range(p)])  # (P², P²)
    assert torch.allclose(basis @ basis.T, torch.eye(p * p, dtype=torch.float64), atol=1e-10)
    a = torch.randn(p * p, dtype=torch.float64)
    spectrum = basis @ a
    assert torch.allclose(basis.T @ spectrum, a, atol=1e-10)  # inverse DCT reconstructs exactly
    # the (0, 0) coefficient is P * mean
    assert torch.allclose(spectrum[0], p * a.mean())
    assert torch.allclose(dct_1d_basis(p) @ dct_1d_basis(p).T, torch.eye(p, dtype=torch.float64), atol=1e-12)


def test_top_frequencies_scaled():
    f = top_frequencies(16, 21)
    assert f[:4] == [(0, 0), (0, 3), (18, 0), (0, 15)] and f[-1] == (6, 6)
    assert all(0 <= u <= 20 and 0 <= v <= 20 for u, v in f)
    with pytest.raises(ValueError):
        top_frequencies(33, 21)


def test_single_frequency_is_se():
    torch.manual_seed(0)
    att = DCTChannelAttention(32, dct_size=7, num_freqs=1, reduction=4)
    x = torch.randn(3, 32, 7, 7)
    ref = x * att.fc(7 * x.mean(dim=(2, 3)))[:, :, None, None]
    assert torch.allclose(att(x), ref, atol=1e-6)


def test_grouping_and_buffers():
    att = DCTChannelAttention(32, dct_size=14, num_freqs=4)
    assert att.dct_filter.shape == (32, 14, 14)
    assert not any(n.startswith('dct_filter') for n, _ in att.named_parameters())
    # channel group j uses frequency j: 8 channels per frequency
    assert torch.equal(att.dct_filter[0], att.dct_filter[7]) and not torch.equal(att.dct_filter[7], att.dct_filter[8])
    x = torch.randn(2, 32, 14, 14)
    f = att.spectrum(x)
    assert torch.allclose(f[:, 8], (x[:, 8] * att.dct_filter[8]).sum((1, 2)), atol=1e-5)
    # smaller inputs are pooled to the DCT grid; the output keeps the input size
    assert att(torch.randn(2, 32, 5, 9)).shape == (2, 32, 5, 9)
    with pytest.raises(ValueError, match='divisible'):
        DCTChannelAttention(30, num_freqs=16)

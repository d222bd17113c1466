"""Overlapping block split / restore (SCSM Split operator)."""
import pytest
import torch

from rsseg_ext.models.utils import BlockPartition, block_starts


@pytest.mark.parametrize('length,block,starts', [(64, 21, [0, 14, 29, 43]), (128, 21, [0, 18, 36, 54, 71, 89, 107]),
                                                 (112, 21, [0, 18, 36, 55, 73, 91]), (42, 21, [0, 21]),
                                                 (10, 21, [0])])
def test_starts(length, block, starts):
    assert block_starts(length, block)[2] == starts


@pytest.mark.parametrize('hw', [(64, 64), (15, 23), (10, 10), (42, 63), (128, 112)])
def test_restore_inverts_split(hw):
    part = BlockPartition(21)
    x = torch.randn(2, 3, *hw)
    blocks = part.split(x)
    assert blocks.shape[0] == 2 * part.num_blocks(*hw)
    assert torch.allclose(part.restore(blocks, hw), x, atol=1e-6)
    count = part.layout(*hw, x.device)['count']
    assert count.min() >= 1
    if hw[0] % 21 == 0 and hw[1] % 21 == 0:
        assert torch.all(count == 1)


def test_blocks_are_windows():
    part = BlockPartition(7)
    x = torch.arange(2 * 15 * 23, dtype=torch.float32).reshape(1, 2, 15, 23)
    blocks = part.split(x)  # starts rows 0,4,8; cols 0,5,11,16
    assert blocks.shape == (12, 2, 7, 7)
    assert torch.equal(blocks[1], x[0, :, 0:7, 5:12])
    assert torch.equal(blocks[11], x[0, :, 8:15, 16:23])

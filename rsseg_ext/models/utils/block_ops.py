"""Split a feature map into (possibly overlapping) P x P blocks and restore it: SCSM's "Split" operator (Eq. 7).

No Python loop over blocks: the blocks are one advanced-indexing gather and the restore is one ``index_add_``.
"""
import math
from typing import Dict, Tuple

import torch
from torch import Tensor

from mmseg.registry import MODELS


def block_starts(length: int, block: int) -> Tuple[int, int, list]:
    """Block size and start offsets along one axis of ``length`` pixels.

    Rule (inferred; see docs/methods/scsm.md): if ``length <= block`` one block of size ``length``; otherwise
    ``n = ceil(length / block)`` blocks with evenly spread starts ``round(i (length - block) / (n - 1))``, so every
    pixel is covered and neighbouring blocks overlap when ``length`` is not a multiple of ``block``.

    Returns:
        ``(size, n, starts)``.
    """
    if length <= block:
        return length, 1, [0]
    n = math.ceil(length / block)
    # round-half-up (not Python's banker's rounding) so that 64/21 gives 0, 14, 29, 43 (inferred; docs/methods/scsm.md)
    starts = [int(math.floor(i * (length - block) / (n - 1) + 0.5)) for i in range(n)]
    return block, n, starts


@MODELS.register_module()
class BlockPartition:
    """Overlapping block split / restore with cached index tensors.

    ``split``: ``(B, C, H, W) -> (B * n_b, C, ph, pw)`` with ``n_b = ny * nx`` blocks in row-major block order.
    ``restore``: the inverse; pixels covered by several blocks receive the mean of the block outputs.

    Args:
        block_size: ``P`` (feature pixels). Axes shorter than ``P`` form one block of their own length.
    """

    def __init__(self, block_size: int = 21) -> None:
        if block_size < 1:
            raise ValueError(f'block_size must be positive, got {block_size}')
        self.block_size = block_size
        self._cache: Dict[Tuple, Dict[str, object]] = {}

    def layout(self, h: int, w: int, device: torch.device) -> Dict[str, object]:
        """Index tensors of an ``h x w`` map: ``rows (ny, ph)``, ``cols (nx, pw)``, flat ``index (ny, nx, ph, pw)``
        into ``h*w`` and the per-pixel ``count (h*w,)`` of covering blocks."""
        key = (h, w, str(device))
        if key not in self._cache:
            ph, ny, sy = block_starts(h, self.block_size)
            pw, nx, sx = block_starts(w, self.block_size)
            rows = torch.tensor(sy, device=device)[:, None] + torch.arange(ph, device=device)  # (ny, ph)
            cols = torch.tensor(sx, device=device)[:, None] + torch.arange(pw, device=device)  # (nx, pw)
            index = rows[:, None, :, None] * w + cols[None, :, None, :]  # (ny, nx, ph, pw)
            count = torch.zeros(h * w, device=device).index_add_(
                0, index.reshape(-1), torch.ones(index.numel(), device=device))
            self._cache[key] = dict(rows=rows, cols=cols, index=index, count=count, ny=ny, nx=nx, ph=ph, pw=pw)
        return self._cache[key]

    def num_blocks(self, h: int, w: int) -> int:
        ph, ny, _ = block_starts(h, self.block_size)
        pw, nx, _ = block_starts(w, self.block_size)
        return ny * nx

    def split(self, x: Tensor) -> Tensor:
        """``(B, C, H, W) -> (B * n_b, C, ph, pw)``."""
        b, c, h, w = x.shape
        lay = self.layout(h, w, x.device)
        rows, cols = lay['rows'], lay['cols']
        blocks = x[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # (B, C, ny, nx, ph, pw)
        return blocks.permute(0, 2, 3, 1, 4, 5).reshape(b * lay['ny'] * lay['nx'], c, lay['ph'], lay['pw'])

    def restore(self, y: Tensor, hw: Tuple[int, int]) -> Tensor:
        """``(B * n_b, C, ph, pw) -> (B, C, H, W)``; overlaps are averaged."""
        h, w = hw
        lay = self.layout(h, w, y.device)
        ny, nx, ph, pw = lay['ny'], lay['nx'], lay['ph'], lay['pw']
        c = y.shape[1]
        b = y.shape[0] // (ny * nx)
        y = y.reshape(b, ny, nx, c, ph, pw).permute(0, 3, 1, 2, 4, 5).reshape(b, c, -1)
        out = y.new_zeros(b, c, h * w).index_add_(2, lay['index'].reshape(-1), y)
        out = out / lay['count'].to(y.dtype)
        return out.reshape(b, c, h, w)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(block_size={self.block_size})'

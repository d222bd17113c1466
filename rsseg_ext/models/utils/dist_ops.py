"""Differentiable collectives that also work with the gloo backend (CPU)."""
from typing import List

import torch
import torch.distributed as dist
from torch import Tensor


def _world() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


class _AllGatherGrad(torch.autograd.Function):
    """all_gather along dim 0 (equal sizes). Backward: the gradient w.r.t. the local slice is the SUM over
    ranks of the gradients each rank's loss sends to that slice (all_reduce + take own slot), so that DDP's
    gradient averaging of a loss computed identically on every rank reproduces the single-process gradient."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.rank, ctx.world, ctx.n = dist.get_rank(), dist.get_world_size(), x.shape[0]
        out: List[Tensor] = [torch.empty_like(x) for _ in range(ctx.world)]
        dist.all_gather(out, x.contiguous())
        return torch.cat(out, 0)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank * ctx.n:(ctx.rank + 1) * ctx.n]


def all_gather_with_grad(x: Tensor) -> Tensor:
    """Concatenate ``x`` (B_r, ...) from every rank along dim 0, keeping the autograd graph.

    Ranks may hold different B_r: tensors are zero-padded to the largest B_r for the collective and the
    padding is dropped afterwards. Without an initialised process group (or with one process) ``x`` is
    returned unchanged.

    Shapes: (B_r, ...) -> (sum_r B_r, ...), ordered by rank.
    """
    world = _world()
    if world == 1:
        return x
    n = torch.tensor([x.shape[0]], device=x.device)
    sizes = [torch.zeros_like(n) for _ in range(world)]
    dist.all_gather(sizes, n)
    sizes_l = [int(s.item()) for s in sizes]
    m = max(sizes_l)
    if m != x.shape[0]:
        x = torch.cat([x, x.new_zeros((m - x.shape[0], ) + tuple(x.shape[1:]))], 0)
    full = _AllGatherGrad.apply(x)
    if all(s == m for s in sizes_l):
        return full
    return torch.cat([full[r * m:r * m + s] for r, s in enumerate(sizes_l)], 0)

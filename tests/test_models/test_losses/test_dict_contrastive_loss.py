"""DictContrastiveLoss (D2LS Eqs. 5-8): toy values, invariances, and the 2-process gloo gathered-gradient check."""
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

import rsseg_ext  # noqa: F401
from mmseg.registry import MODELS
from rsseg_ext.models.losses import DictContrastiveLoss


def test_toy_value():
    d = torch.tensor([[[0.], [2.]], [[2.], [4.]]])  # B=2, N=2, C=1: mu=(1,3), intra=1, inter=4
    loss = DictContrastiveLoss()(d)
    assert abs(loss.item() - 0.25) < 1e-6
    assert MODELS.get('DictionaryContrastiveLoss') is DictContrastiveLoss


def test_zero_cases_and_weight():
    loss = DictContrastiveLoss(loss_weight=2.0)
    assert loss(torch.randn(1, 4, 8)).item() == 0
    assert abs(loss(torch.randn(1, 4, 8).expand(3, -1, -1)).item()) < 1e-10
    assert loss.loss_name == 'loss_dict_con'


def test_invariances():
    torch.manual_seed(0)
    d = torch.randn(4, 5, 6, dtype=torch.float64)
    fn = DictContrastiveLoss(eps=0)
    ref = fn(d)
    q, _ = torch.linalg.qr(torch.randn(6, 6, dtype=torch.float64))
    for t in (d + torch.randn(6, dtype=torch.float64), d @ q, 3.7 * d):
        torch.testing.assert_close(fn(t), ref, atol=1e-5, rtol=1e-5)


def test_finite_gradient_when_centres_coincide():
    d = torch.randn(3, 1, 4).expand(3, 5, 4).clone().requires_grad_()
    DictContrastiveLoss()(d).backward()
    assert torch.isfinite(d.grad).all()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, x: torch.Tensor, w: torch.Tensor, out_dir: str) -> None:
    import torch.distributed as dist
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        weight = w.clone().requires_grad_()
        n = x.shape[0] // world
        d = torch.einsum('bk,knc->bnc', x[rank * n:(rank + 1) * n], weight)  # this rank's half of the batch
        loss = DictContrastiveLoss(gather_across_gpus=True)(d)
        loss.backward()
        grad = weight.grad.clone()
        dist.all_reduce(grad)
        grad /= world  # what DDP does with parameter gradients
        # ranks holding different batch sizes: padded collective, trimmed result, gradients summed over ranks
        from rsseg_ext.models.utils import all_gather_with_grad
        y = torch.full((rank + 1, 2), float(rank), requires_grad=True)
        gathered = all_gather_with_grad(y)
        (gathered.sum() * (rank + 1)).backward()
        torch.save(dict(loss=loss.detach(), grad=grad, gathered=gathered.detach(), y_grad=y.grad),
                   os.path.join(out_dir, f'rank{rank}.pt'))
    finally:
        dist.barrier()
        dist.destroy_process_group()


@pytest.mark.timeout(120)
def test_gathered_loss_matches_single_process_on_two_gloo_ranks(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(4, 3, dtype=torch.float64)
    w = torch.randn(3, 5, 6, dtype=torch.float64)
    # single process on the concatenated batch
    weight = w.clone().requires_grad_()
    ref = DictContrastiveLoss()(torch.einsum('bk,knc->bnc', x, weight))
    ref.backward()
    # fork: the children inherit the imported stack (spawn would re-import mmseg in each, ~15 s on 2 cores)
    mp.start_processes(_worker, args=(2, _free_port(), x, w, str(tmp_path)), nprocs=2, join=True,
                       start_method='fork')
    for rank in range(2):
        res = torch.load(tmp_path / f'rank{rank}.pt')
        torch.testing.assert_close(res['loss'], ref.detach(), atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(res['grad'], weight.grad, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(res['gathered'], torch.tensor([[0., 0.], [1., 1.], [1., 1.]]))
        torch.testing.assert_close(res['y_grad'], torch.full((rank + 1, 2), 3.0))  # 1 (rank 0) + 2 (rank 1)
    # without the gather each rank sees 2 of 4 dictionaries: a different (wrong) loss
    local = DictContrastiveLoss(gather_across_gpus=False)(torch.einsum('bk,knc->bnc', x[:2], w))
    assert abs(local.item() - ref.item()) > 1e-3

"""The FCtL release's training recipe as options (rsseg_ext/engine/optimizers/release_recipe.py), checked against
the release's own code re-implemented here (github.com/liqiokkk/FCtL: ``utils/lr_scheduler.py`` poly mode with
``option.py``'s ``num_epochs=100, start=50``; ``helper.py`` ``Trainer.train``: ``loss.backward()`` per sub-batch,
one ``optimizer.step()`` per batch of images, ``torch.optim.Adam(lr, weight_decay=5e-4)``)."""
import pytest
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from rsseg_ext.engine.optimizers import ResumedPolyLR, SummedLossOptimWrapper


def release_poly_lr(base: float, epoch: int, i: int, num_epochs: int, iters_per_epoch: int) -> float:
    """``LR_Scheduler('poly')``: ``T = epoch * iters_per_epoch + i``, ``lr = base * (1 - T / N) ** 0.9``."""
    n = num_epochs * iters_per_epoch
    return base * (1 - 1.0 * (epoch * iters_per_epoch + i) / n)**0.9


def test_resumed_poly_lr_is_the_release_schedule():
    base, ipe = 5e-5, 7
    opt = torch.optim.Adam([nn.Parameter(torch.zeros(2))], lr=base)
    # our run covers the release's epochs 50..99 of 100 (50 * ipe steps); mmengine's PolyLR reaches 0 at
    # end - begin - 1, the release one step later: end = steps + 1
    steps = 50 * ipe
    sched = ResumedPolyLR(opt, start_fraction=0.5, power=0.9, eta_min=0.0, begin=0, end=steps + 1, by_epoch=False)
    ours = []
    for _ in range(steps):
        ours.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    theirs = [release_poly_lr(base, e, i, 100, ipe) for e in range(50, 100) for i in range(ipe)]
    torch.testing.assert_close(torch.tensor(ours, dtype=torch.float64), torch.tensor(theirs, dtype=torch.float64),
                               rtol=1e-9, atol=0)
    assert abs(ours[0] / base - 0.5**0.9) < 1e-12  # 0.536x the base rate at the start
    # start_fraction=0 is mmengine's PolyLR, the paper-faithful default
    opt2 = torch.optim.Adam([nn.Parameter(torch.zeros(2))], lr=base)
    plain = ResumedPolyLR(opt2, power=0.9, begin=0, end=steps + 1, by_epoch=False)
    assert opt2.param_groups[0]['lr'] == base
    plain.step()
    assert abs(opt2.param_groups[0]['lr'] - base * (1 - 1 / steps)**0.9) < 1e-15
    with pytest.raises(ValueError, match='start_fraction'):
        ResumedPolyLR(opt2, start_fraction=1.0, end=10, by_epoch=False)


def _data(n: int):
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(4, 3, generator=g), torch.randn(4, 2, generator=g)) for _ in range(n)]


def _model():
    torch.manual_seed(1)
    return nn.Linear(3, 2)


def _release_step(sub_batches, weight_decay: float) -> nn.Module:
    """The release: ``loss.backward()`` on each sub-batch's mean loss, then one Adam step (L2 weight decay)."""
    ref = _model()
    opt = torch.optim.Adam(ref.parameters(), lr=1e-2, weight_decay=weight_decay)
    for x, y in sub_batches:
        nn.functional.mse_loss(ref(x), y).backward()
    opt.step()
    return ref


def _our_step(sub_batches, weight_decay: float, summed: bool) -> nn.Module:
    """3 accumulated iterations of 2 sub-batches each (one mean loss per iteration), one optimizer step."""
    mine = _model()
    opt = torch.optim.Adam(mine.parameters(), lr=1e-2, weight_decay=weight_decay)
    wrapper = (SummedLossOptimWrapper(opt, accumulative_counts=3, loss_scale=2.0) if summed else
               OptimWrapper(opt, accumulative_counts=3))
    for k in range(3):
        x = torch.cat([sub_batches[2 * k][0], sub_batches[2 * k + 1][0]])
        y = torch.cat([sub_batches[2 * k][1], sub_batches[2 * k + 1][1]])
        with wrapper.optim_context(mine):
            wrapper.update_params(nn.functional.mse_loss(mine(x), y))
    return mine


def _max_diff(a: nn.Module, b: nn.Module) -> float:
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters()))


def test_summed_loss_wrapper_is_the_release_accumulation():
    sub_batches = _data(6)  # one optimizer step over 6 sub-batches
    for wd in (5e-4, 1.0):
        assert _max_diff(_our_step(sub_batches, wd, summed=True), _release_step(sub_batches, wd)) < 1e-7
    # mmengine's averaging (the paper-faithful default) weighs the decay 6x more against the data gradient; Adam
    # is blind to the gradient scale otherwise, so the difference shows where the decay is not negligible
    assert _max_diff(_our_step(sub_batches, 1.0, summed=False), _release_step(sub_batches, 1.0)) > 1e-4
    with pytest.raises(ValueError, match='loss_scale'):
        SummedLossOptimWrapper(torch.optim.Adam(_model().parameters()), loss_scale=0)

"""LookaheadAdamW: AdamW equivalence, the synchronisation rule, exact resume, and mmengine OptimWrapper wiring."""
import io

import pytest
import torch
import torch.nn as nn

import rsseg_ext  # noqa: F401
from mmseg.registry import OPTIMIZERS
from rsseg_ext.engine.optimizers import LookaheadAdamW


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def _batch(i):
    g = torch.Generator().manual_seed(100 + i)
    return torch.randn(16, 4, generator=g), torch.randint(0, 3, (16,), generator=g)


def _train(model, opt, start, stop):
    for i in range(start, stop):
        x, y = _batch(i)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def _params(model):
    return [p.detach().clone() for p in model.parameters()]


def test_builds_from_registry_and_is_adamw():
    model = _model()
    opt = OPTIMIZERS.build(dict(type='LookaheadAdamW', params=model.parameters(), lr=1e-3, k=6, alpha=0.5))
    assert isinstance(opt, LookaheadAdamW) and isinstance(opt, torch.optim.AdamW)
    assert (opt.k, opt.alpha) == (6, 0.5)
    with pytest.raises(ValueError, match='k must be a positive integer'):
        LookaheadAdamW(model.parameters(), k=0)
    with pytest.raises(ValueError, match='alpha must be in'):
        LookaheadAdamW(model.parameters(), alpha=1.5)


def test_k1_alpha1_equals_adamw():
    m1, m2 = _model(), _model()
    _train(m1, LookaheadAdamW(m1.parameters(), lr=1e-2, weight_decay=0.05, k=1, alpha=1.0), 0, 9)
    _train(m2, torch.optim.AdamW(m2.parameters(), lr=1e-2, weight_decay=0.05), 0, 9)
    for a, b in zip(_params(m1), _params(m2)):
        assert torch.equal(a, b)


def test_after_k_steps_params_are_slow_plus_alpha_times_fast_minus_slow():
    k, alpha = 5, 0.5
    m_la, m_fast = _model(), _model()
    init = _params(m_la)
    opt = LookaheadAdamW(m_la.parameters(), lr=1e-2, k=k, alpha=alpha)
    _train(m_la, opt, 0, k - 1)
    # before the k-th step nothing is pulled back: identical to AdamW
    _train(m_fast, torch.optim.AdamW(m_fast.parameters(), lr=1e-2), 0, k)
    _train(m_la, opt, k - 1, k)
    for p, p0, fast in zip(m_la.parameters(), init, _params(m_fast)):
        expected = p0 + alpha * (fast - p0)
        torch.testing.assert_close(p.detach(), expected, rtol=0, atol=1e-7)
        # the slow copy now equals the parameter, and lives in the optimizer state
        assert torch.equal(opt.state[p]['slow_param'], p.detach())
    assert all(g['lookahead_counter'] == 0 for g in opt.param_groups)
    # the AdamW moments are kept across the synchronisation
    assert all(int(opt.state[p]['step']) == k for p in m_la.parameters())


def test_state_dict_resume_is_bit_identical():
    total, stop_at = 13, 7  # interrupted in the middle of the second lookahead cycle
    ref = _model()
    opt_ref = LookaheadAdamW(ref.parameters(), lr=1e-2, k=5, alpha=0.5)
    _train(ref, opt_ref, 0, total)

    first = _model()
    opt_first = LookaheadAdamW(first.parameters(), lr=1e-2, k=5, alpha=0.5)
    _train(first, opt_first, 0, stop_at)
    buf = io.BytesIO()
    torch.save(dict(model=first.state_dict(), optim=opt_first.state_dict()), buf)
    buf.seek(0)
    ckpt = torch.load(buf, weights_only=True)  # plain tensors/ints only: loads under torch's safe mode
    assert any('slow_param' in s for s in ckpt['optim']['state'].values())
    assert ckpt['optim']['param_groups'][0]['lookahead_counter'] == stop_at % 5

    resumed = _model(seed=123)  # different init: everything must come from the checkpoint
    resumed.load_state_dict(ckpt['model'])
    opt_resumed = LookaheadAdamW(resumed.parameters(), lr=1e-2, k=5, alpha=0.5)
    opt_resumed.load_state_dict(ckpt['optim'])
    _train(resumed, opt_resumed, stop_at, total)
    for a, b in zip(_params(ref), _params(resumed)):
        assert torch.equal(a, b)

    # without the slow weights/counter (a plain AdamW checkpoint) the result differs: the test has teeth
    plain = _model(seed=123)
    plain.load_state_dict(ckpt['model'])
    opt_plain = LookaheadAdamW(plain.parameters(), lr=1e-2, k=5, alpha=0.5)
    sd = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)['optim']
    for s in sd['state'].values():
        s.pop('slow_param')
    for g in sd['param_groups']:
        g.pop('lookahead_counter')
    opt_plain.load_state_dict(sd)
    _train(plain, opt_plain, stop_at, total)
    assert any(not torch.equal(a, b) for a, b in zip(_params(ref), _params(plain)))


def test_optim_wrapper_paramwise_lr_mult_and_scheduler():
    from mmengine.optim import build_optim_wrapper
    from mmengine.optim.scheduler import LinearLR
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')  # as a Runner does with default_scope='mmseg'
    model = _model()
    wrapper = build_optim_wrapper(model, dict(
        type='OptimWrapper',
        optimizer=dict(type='LookaheadAdamW', lr=1e-2, weight_decay=0.01, k=2, alpha=0.5),
        paramwise_cfg=dict(custom_keys={'0.': dict(lr_mult=0.1)})))
    opt = wrapper.optimizer
    assert isinstance(opt, LookaheadAdamW)
    lrs = sorted({g['lr'] for g in opt.param_groups})
    assert lrs == pytest.approx([1e-3, 1e-2])
    scheduler = LinearLR(wrapper, start_factor=0.5, by_epoch=False, begin=0, end=4)
    init = _params(model)
    first = model[0].weight.detach().clone()
    for i in range(4):
        x, y = _batch(i)
        wrapper.update_params(nn.functional.cross_entropy(model(x), y))
        scheduler.step()
    # lr multipliers survive the scheduler, every parameter has a slow copy, and training moved the weights
    lrs_after = sorted(g['lr'] for g in opt.param_groups)
    assert lrs_after[0] == pytest.approx(lrs_after[-1] * 0.1)
    assert all('slow_param' in opt.state[p] for p in model.parameters())
    assert not torch.equal(model[0].weight.detach(), first)
    # after 4 steps with k=2, each parameter equals its slow copy
    for p in model.parameters():
        assert torch.equal(opt.state[p]['slow_param'], p.detach())
    assert any(not torch.equal(a, b) for a, b in zip(init, _params(model)))
    # the wrapper's state_dict is the optimizer's, slow weights included
    assert any('slow_param' in s for s in wrapper.state_dict()['state'].values())

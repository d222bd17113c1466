"""AdamW wrapped in Lookahead (Zhang, Lucas, Hinton, Ba, "Lookahead Optimizer: k steps forward, 1 step back",
NeurIPS 2019, Algorithm 1).

D2LS's released code trains with catalyst's ``Lookahead(AdamW(...))`` (k=5, alpha=0.5). Here it is one optimizer
class, so that it builds from a config (``optim_wrapper.optimizer.type='LookaheadAdamW'``), works with mmengine's
``OptimWrapper``, ``paramwise_cfg`` and param schedulers (they only edit ``param_groups[i]['lr']``), and saves
everything it needs in ``state_dict()``.
"""
from typing import Callable, Dict, Iterable, Optional, Tuple, Union

import torch

from mmseg.registry import OPTIMIZERS


@OPTIMIZERS.register_module()
class LookaheadAdamW(torch.optim.AdamW):
    """AdamW ("fast weights") whose parameters are pulled toward a set of slow weights every ``k`` steps.

    Every optimizer step is an ordinary AdamW step. After every ``k``-th step of a param group, each parameter
    ``p`` of that group with slow copy ``s`` does (Algorithm 1 of the paper)::

        s <- s + alpha * (p - s)
        p <- s

    Slow weights start as the parameter values at the parameter's first step. The AdamW moments are *not* reset
    at a synchronisation (the paper's default, and catalyst's). ``k=1, alpha=1`` is exactly AdamW.

    State: the slow copy of each parameter is ``state[p]['slow_param']`` and the step counter of each group is
    ``param_groups[i]['lookahead_counter']`` (0..k-1), so ``state_dict()``/``load_state_dict()`` round-trip them
    and a resumed run continues bit-identically. ``k`` and ``alpha`` are constructor settings (not restored from
    a checkpoint), like the rest of the config.

    Args:
        params: parameters or param-group dicts (as produced by mmengine's ``DefaultOptimWrapperConstructor``,
            including per-group ``lr``/``weight_decay`` multipliers).
        lr, betas, eps, weight_decay, amsgrad: as in :class:`torch.optim.AdamW`.
        k: synchronisation period in steps (D2LS: 5).
        alpha: slow-weight step size in (0, 1] (D2LS: 0.5).
        **kwargs: further :class:`torch.optim.AdamW` options (``maximize``, ``foreach``, ...).
    """

    def __init__(self,
                 params: Union[Iterable[torch.Tensor], Iterable[dict]],
                 lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8,
                 weight_decay: float = 1e-2,
                 amsgrad: bool = False,
                 k: int = 5,
                 alpha: float = 0.5,
                 **kwargs) -> None:
        if int(k) != k or k < 1:
            raise ValueError(f'Lookahead k must be a positive integer, got {k}')
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f'Lookahead alpha must be in (0, 1], got {alpha}')
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, **kwargs)
        self.k = int(k)
        self.alpha = float(alpha)

    def add_param_group(self, param_group: dict) -> None:
        """Add a param group; its Lookahead counter starts at 0."""
        param_group.setdefault('lookahead_counter', 0)
        super().add_param_group(param_group)

    @torch.no_grad()
    def _pending_slow(self) -> Dict[torch.Tensor, torch.Tensor]:
        # slow weights = parameter values before the parameter's first fast step; taken lazily, so parameters that
        # never receive a gradient (frozen, unused) cost no memory, exactly like AdamW's own moments. They are put
        # into the state only after AdamW's step, because AdamW initialises a parameter's state only when empty.
        pending = {}
        for group in self.param_groups:
            for p in group['params']:
                if p.grad is not None and 'slow_param' not in self.state.get(p, {}):
                    pending[p] = p.detach().clone(memory_format=torch.preserve_format)
        return pending

    @torch.no_grad()
    def _synchronise(self, group: dict) -> None:
        for p in group['params']:
            state = self.state.get(p)
            if not state or 'slow_param' not in state:
                continue
            slow = state['slow_param']
            slow.add_(p - slow, alpha=self.alpha)
            p.copy_(slow)

    def step(self, closure: Optional[Callable[[], float]] = None) -> Optional[float]:
        """One AdamW step, then the Lookahead synchronisation for every group that has completed ``k`` steps.

        Args:
            closure: optional closure re-evaluating the loss, as in :meth:`torch.optim.AdamW.step`.

        Returns:
            The closure's loss, if a closure was given.
        """
        loss = None
        if closure is not None:
            # evaluate first: which parameters take their first step (and need a slow copy) depends on the
            # gradients the closure produces
            with torch.enable_grad():
                loss = closure()
        pending = self._pending_slow()
        super().step()
        for p, slow in pending.items():
            self.state[p]['slow_param'] = slow
        for group in self.param_groups:
            # groups from a plain AdamW checkpoint have no counter yet
            group['lookahead_counter'] = group.get('lookahead_counter', 0) + 1
            if group['lookahead_counter'] >= self.k:
                self._synchronise(group)
                group['lookahead_counter'] = 0
        return loss

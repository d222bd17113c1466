"""Two training-recipe switches of the FCtL release (github.com/liqiokkk/FCtL, ``train_deep_globe.py``).

* The release builds its poly schedule for 100 epochs and trains epochs 50-99 of it (``option.py``: ``num_epochs
  = 100, start = 50, lens = 50``), so its learning rate starts at ``0.5 ** 0.9 = 0.54x`` the base rate:
  :class:`ResumedPolyLR` with ``start_fraction=0.5``.
* The release calls ``loss.backward()`` once per sub-batch of patches and steps the optimizer once per batch of
  images, so the gradient is the **sum** of the sub-batch mean losses (DeepGlobe: 54 sub-batches of 4 patches per
  step, Inria: ~186); mmengine's ``OptimWrapper(accumulative_counts=N)`` divides each loss by ``N`` (the mean).
  With Adam the two differ through the L2 weight decay, which is added to the gradient: summing makes it
  54-186x weaker relative to the data term. :class:`SummedLossOptimWrapper` sums.

The paper-faithful recipe (a full poly schedule, averaged accumulation) stays the default of every config.
"""
import torch
from mmengine.optim import OptimWrapper, PolyLR

from mmseg.registry import OPTIM_WRAPPERS, PARAM_SCHEDULERS

__all__ = ['ResumedPolyLR', 'SummedLossOptimWrapper']


@PARAM_SCHEDULERS.register_module()
class ResumedPolyLR(PolyLR):
    """mmengine ``PolyLR`` that runs the last ``1 - start_fraction`` of a longer poly schedule.

    With ``eta_min=0`` the learning rate of step ``t`` of ``T`` is ``lr0 * (1 - s - (1 - s) t / T) ** power``
    (``s = start_fraction``), i.e. ``lr0 * (1 - s) ** power * (1 - t / T) ** power``: the plain poly schedule of
    ``T`` steps started at the scaled rate. ``start_fraction=0`` is ``PolyLR``.

    Args:
        start_fraction: the fraction of the full schedule already spent (FCtL release: 0.5, epochs 50-99 of 100).
        **kwargs: ``PolyLR`` (``power``, ``eta_min``, ``begin``, ``end``, ``by_epoch``...).
    """

    def __init__(self, optimizer, start_fraction: float = 0.0, **kwargs) -> None:
        if not 0.0 <= float(start_fraction) < 1.0:
            raise ValueError(f'start_fraction must be in [0, 1), got {start_fraction}')
        self.start_fraction = float(start_fraction)  # set before super().__init__, which takes the first step
        super().__init__(optimizer, **kwargs)

    def _get_value(self):
        if self.last_step == 0:
            f = (1.0 - self.start_fraction)**self.power
            return [self.eta_min + (g[self.param_name] - self.eta_min) * f for g in self.optimizer.param_groups]
        return super()._get_value()  # the chained poly ratio keeps the scaled start


@OPTIM_WRAPPERS.register_module()
class SummedLossOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose gradient accumulation sums the losses instead of averaging them.

    Each backward pass gets ``loss * loss_scale`` (mmengine's wrapper uses ``loss / accumulative_counts``). Set
    ``loss_scale`` to the number of the release's sub-batches that one of our iterations stands for: patches per
    iteration over all GPUs / 4 (the release's ``--sub_batch_size 4``), e.g. 4 GPUs x 6 patches -> 6.

    Args:
        loss_scale: multiplier of every loss before backward (1.0: a plain sum over the accumulated iterations).
        **kwargs: ``OptimWrapper`` (``optimizer``, ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self, *args, loss_scale: float = 1.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not float(loss_scale) > 0:
            raise ValueError(f'loss_scale must be > 0, got {loss_scale}')
        self.loss_scale = float(loss_scale)

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        return loss * self.loss_scale

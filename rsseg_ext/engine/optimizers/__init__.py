from .lookahead import LookaheadAdamW

__all__ = ['LookaheadAdamW']
from .release_recipe import ResumedPolyLR, SummedLossOptimWrapper  # noqa: E402

__all__ += ['ResumedPolyLR', 'SummedLossOptimWrapper']

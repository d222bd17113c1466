from .metrics import RSSegMetric
from .submission import make_loveda_submission, make_uavid_submission

__all__ = ['RSSegMetric', 'make_loveda_submission', 'make_uavid_submission']

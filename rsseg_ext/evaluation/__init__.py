from .metrics import RSSegMetric

__all__ = ['RSSegMetric']

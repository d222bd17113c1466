from .rs_metric import RSSegMetric

__all__ = ['RSSegMetric']

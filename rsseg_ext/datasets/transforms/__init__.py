from .geometric import RandomRotate90
from .loading import LoadRasterImageFromFile

__all__ = ['LoadRasterImageFromFile', 'RandomRotate90']

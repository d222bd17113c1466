from .geometric import RandomRotate90
from .loading import LoadRasterImageFromFile

__all__ = ['LoadRasterImageFromFile', 'RandomRotate90']
from .mosaic import RSMosaic
from .photometric import RandomBrightnessContrast, Sharpen
__all__ += ['RSMosaic', 'RandomBrightnessContrast', 'Sharpen']
from .multi_context import GenerateMultiContextPatch  # noqa: E402
__all__ += ['GenerateMultiContextPatch']

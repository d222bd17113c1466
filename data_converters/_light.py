"""Load the converters' helpers without importing the whole rsseg_ext package.

``import rsseg_ext`` registers every model and so imports torch, mmengine and mmseg (about 5 s of start-up);
converters need none of that. ``rsseg_ext/utils/conversion.py`` and ``rsseg_ext/utils/grid.py`` depend only on
numpy/cv2/rasterio/tqdm, so they are loaded here from their files as stand-alone modules.
"""
import importlib.util
import os.path as osp
import sys

_UTILS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'rsseg_ext', 'utils')


def _load(name: str):
    key = f'_rsseg_ext_light_{name}'
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, osp.join(_UTILS, f'{name}.py'))
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module  # before exec: multiprocessing workers unpickle functions by module name
        spec.loader.exec_module(module)
    return sys.modules[key]


conversion = _load('conversion')
grid = _load('grid')

"""Load the converters' helpers without importing the whole rsseg_ext package.

``import rsseg_ext`` registers every model and so imports torch, mmengine and mmseg (about 5 s of start-up);
converters need none of that. ``rsseg_ext/utils/conversion.py``, ``grid.py`` and ``fileio.py`` depend only on
numpy/cv2/rasterio/tqdm and the standard library, so they are loaded here from their files as stand-alone modules.
"""
import importlib.util
import os.path as osp
import sys

_HERE = osp.dirname(osp.abspath(__file__))
_UTILS = osp.join(osp.dirname(_HERE), 'rsseg_ext', 'utils')  # a checkout: data_converters/ next to rsseg_ext/
if not osp.isdir(_UTILS):  # an installed wheel: rsseg_ext/.mim/data_converters/
    _UTILS = osp.join(osp.dirname(osp.dirname(_HERE)), 'utils')


def _load(name: str):
    key = f'_rsseg_ext_light_{name}'
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, osp.join(_UTILS, f'{name}.py'))
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module  # before exec: multiprocessing workers unpickle functions by module name
        spec.loader.exec_module(module)
    return sys.modules[key]


fileio = _load('fileio')  # before conversion, which reuses it (safe writes: temp, fsync, umask mode, rename)
conversion = _load('conversion')
grid = _load('grid')

# the helpers the converters import by name (``from _light import open_zip, run_tasks, ...``)
ConversionError = conversion.ConversionError
TMP_MARK = conversion.TMP_MARK
atomic_write_bytes = conversion.atomic_write_bytes
atomic_write_png = conversion.atomic_write_png
convert_tile_pair = conversion.convert_tile_pair
decode_image = conversion.decode_image
open_zip = conversion.open_zip
print_summary = conversion.print_summary
raster_size = conversion.raster_size
remove_stale_temps = conversion.remove_stale_temps
start_run = conversion.start_run
rgb_to_index = conversion.rgb_to_index
run_tasks = conversion.run_tasks
tile_names = conversion.tile_names
worker_zip = conversion.worker_zip
write_split_list = conversion.write_split_list
slide_grid = grid.slide_grid

"""UAVid (Lyu et al., 2020): oblique UAV video frames, 8 classes."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class UAVidDataset(BaseSegDataset):
    """UAVid in the layout written by ``data_converters/uavid.py``.

    Labels are class indices in the order below (the GeoSeg/D2LS order: clutter last), 255 = ignored; images
    and labels are ``.png`` with the same names (``seq<N>_<frame>[_<y>_<x>].png``). The official colours of each
    class are the palette, which is also what the test server's colour submissions use.
    """
    METAINFO = dict(
        classes=('building', 'road', 'tree', 'low_vegetation', 'moving_car', 'static_car', 'human', 'clutter'),
        palette=[[128, 0, 0], [128, 64, 128], [0, 128, 0], [128, 128, 0], [64, 0, 128], [192, 0, 192],
                 [64, 64, 0], [0, 0, 0]])

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png', reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)

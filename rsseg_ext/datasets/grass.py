"""Grass (KTDA release, as used by D2LS): Gaofen-2/6 grassland coverage of Maduo County, 256x256, 5 classes."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class GrassDataset(BaseSegDataset):
    """The D2LS "Grass" set: grassland coverage levels, ``.tif`` images and index ``.png`` masks 0..4.

    There is no stable public raw archive to convert (the pairs come from the KTDA authors' release), so this
    class reads the expected layout directly (see docs/datasets.md)::

        data/grass/img_dir/{train,val}/<name>.tif
        data/grass/ann_dir/{train,val}/<name>.png   # uint8 ids 0..4, 255 = ignored

    Classes are grass coverage levels from low to high, in the label-id order of the released D2LS code.
    """
    METAINFO = dict(
        classes=('low', 'middle-low', 'middle', 'middle-high', 'high'),
        palette=[[185, 101, 71], [248, 202, 155], [211, 232, 158], [138, 191, 104], [92, 144, 77]])

    def __init__(self, img_suffix: str = '.tif', seg_map_suffix: str = '.png', reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)

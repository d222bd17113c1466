"""Inria Aerial Image Labeling (Maggiori et al., IGARSS 2017): 5000x5000 RGB GeoTIFFs at 0.3 m, building vs
background."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class InriaAerialDataset(BaseSegDataset):
    """Inria Aerial in the layout written by ``data_converters/inria.py``.

    mmseg layout: ``img_dir/<split>/<city><n>.tif`` (the official GeoTIFFs, copied) and
    ``ann_dir/<split>/<city><n>.png`` (0 background, 1 building; the official GT / 255), split lists
    ``splits/{train,val,test}.txt`` (FCtL ``txt_1`` protocol: 126 / 27 / 27) as ``ann_file``.
    FCtL's "mIoU" is the building IoU: ``RSSegMetric(exclude_classes=[0])``.
    """
    METAINFO = dict(classes=('background', 'building'), palette=[[0, 0, 0], [255, 255, 255]])

    def __init__(self, img_suffix: str = '.tif', seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False, **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)

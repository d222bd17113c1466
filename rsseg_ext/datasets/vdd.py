"""VDD (Cai et al., 2023): Varied Drone Dataset, 400 nadir drone images of 4000x3000, 7 classes."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class VDDDataset(BaseSegDataset):
    """VDD in the layout written by ``data_converters/vdd.py`` (or the OVRSISBench bundle).

    Labels are class indices 0..6 in the order below (the official VDD label ids), 255 = ignored. Class names
    are the OVRSISBench vocabulary strings verbatim (they are open-vocabulary prompts); ``Other`` is a real
    class (id 0), not ignored.

    The converter writes ``.png`` images; for the OVRSISBench bundle (``VDD/src/*.JPG``, ``VDD/gt/*.png``)
    pass ``img_suffix='.JPG'``.
    """
    METAINFO = dict(
        classes=('Other', 'Wall', 'Road', 'Vegetation', 'Vehicle', 'Roof', 'Water'),
        palette=[[0, 0, 0], [128, 0, 0], [128, 64, 128], [0, 128, 0], [64, 0, 128], [192, 192, 128],
                 [0, 0, 128]])

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png', reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)

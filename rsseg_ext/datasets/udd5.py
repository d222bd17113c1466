"""UDD5 (Chen et al., PRCV 2018): nadir UAV images (4096x2160 / 4000x3000), 5 classes."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class UDD5Dataset(BaseSegDataset):
    """UDD5 in the layout written by ``data_converters/udd5.py`` (or the OVRSISBench bundle).

    Labels are class indices 0..4 in the order below (the official UDD5 colour map order), 255 = ignored.
    Class names are the OVRSISBench vocabulary strings verbatim (they are open-vocabulary prompts).

    The converter writes ``.png`` images; for the OVRSISBench bundle (``UDD5/all/src/*.JPG``,
    ``UDD5/all/gt/*.png``) pass ``img_suffix='.JPG'`` (upper case: the suffix match is case-sensitive).
    """
    METAINFO = dict(
        classes=('Vegetation', 'Building', 'Road', 'Vehicle', 'Other'),
        palette=[[107, 142, 35], [102, 102, 156], [128, 64, 128], [0, 0, 142], [0, 0, 0]])

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png', reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)

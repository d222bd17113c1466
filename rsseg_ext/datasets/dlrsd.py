"""DLRSD (Shao et al., 2018): dense labels for the 2,100 UC Merced land-use images, 17 classes."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class DLRSDDataset(BaseSegDataset):
    """DLRSD in the layout written by ``data_converters/dlrsd.py`` (or the OVRSISBench bundle).

    Labels are class indices 0..16 in the order below, 255 = ignored. The class names are the OVRSISBench
    vocabulary strings (RSKT-Seg, AAAI 2026) verbatim, because open-vocabulary models use them as prompts;
    the palette is the one of the official DLRSD colour labels in the same order.

    The converter writes ``.png`` images; for the OVRSISBench bundle (``DLRSD/imgs/*.jpg``,
    ``DLRSD/D2masks/*.png``) pass ``img_suffix='.jpg'``.
    """
    METAINFO = dict(
        classes=('airplane', 'bare soil', 'buildings', 'cars', 'chaparral', 'court', 'dock', 'field', 'grass',
                 'mobile home', 'pavement', 'sand', 'sea', 'ship', 'tanks', 'trees', 'water'),
        palette=[[166, 202, 240], [128, 128, 0], [0, 0, 128], [255, 0, 0], [0, 128, 0], [128, 0, 0],
                 [255, 233, 233], [160, 160, 164], [0, 128, 128], [90, 87, 255], [255, 255, 0], [255, 192, 0],
                 [0, 0, 255], [255, 0, 192], [128, 0, 128], [0, 255, 0], [0, 255, 255]])

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png', reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)

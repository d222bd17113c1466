"""L8-Biome fine-grained cloud set (KTDA release, as used by D2LS): Landsat-8 512x512 patches, 4 classes."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class L8BiomeCloudDataset(BaseSegDataset):
    """The D2LS "Cloud" set: KTDA's L8-Biome patches, index masks 0..3, 255 = ignored (fill).

    There is no stable public raw archive to convert (the patches come from the KTDA authors' release), so
    this class reads the expected layout directly (see docs/datasets.md)::

        data/l8biome/img_dir/{train,val,test}/<name>.png
        data/l8biome/ann_dir/{train,val,test}/<name>.png   # uint8 ids 0..3, 255 = fill/ignore

    The class order is the label-id order of the released D2LS code (the paper's Table 8 lists another order).
    """
    METAINFO = dict(
        classes=('clear', 'cloud_shadow', 'thin_cloud', 'cloud'),
        palette=[[79, 253, 199], [221, 53, 223], [251, 255, 41], [77, 2, 115]])

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png', reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)

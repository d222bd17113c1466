"""GID (Gaofen Image Dataset, Tong et al., RSE 2020): GF-2 scenes, 5 classes (GID-5) or 15 classes (GID-15)."""
from typing import Optional, Sequence

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

# GID-15 ("Fine Land-cover Classification_15classes"), label colours of the official release, same id order.
GID15_METAINFO = dict(
    classes=('industrial_land', 'urban_residential', 'rural_residential', 'traffic_land', 'paddy_field',
             'irrigated_land', 'dry_cropland', 'garden_plot', 'arbor_woodland', 'shrub_land', 'natural_grassland',
             'artificial_grassland', 'river', 'lake', 'pond'),
    palette=[[200, 0, 0], [250, 0, 150], [200, 150, 150], [250, 150, 150], [0, 200, 0], [150, 250, 0],
             [150, 200, 150], [200, 0, 200], [150, 0, 250], [150, 150, 250], [250, 200, 0], [200, 200, 0],
             [0, 0, 200], [0, 150, 200], [0, 200, 250]])


@DATASETS.register_module()
class GIDDataset(BaseSegDataset):
    """GID tiles in the layout written by ``data_converters/gid.py``.

    Labels on disk are 0 = unlabeled (black in the official colour labels), 1..K = the classes, so
    ``reduce_zero_label=True`` (the default) ignores unlabeled pixels and yields ids 0..K-1. The palette is the
    official label colours. ``meadow`` is called "grassland" in some papers (LoVLANet's text).

    Args:
        variant: ``'gid5'`` (default; the large-scale classification set, the classes below) or ``'gid15'``
            (the fine land-cover set, :data:`GID15_METAINFO`; converted with ``gid.py --classes 15``). One class
            for both, because they are the same images with two label sets.
    """
    METAINFO = dict(
        classes=('built-up', 'farmland', 'forest', 'meadow', 'water'),
        palette=[[255, 0, 0], [0, 255, 0], [0, 255, 255], [255, 255, 0], [0, 0, 255]])

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png', reduce_zero_label: bool = True,
                 variant: str = 'gid5', **kwargs) -> None:
        if variant not in ('gid5', 'gid15'):
            raise ValueError(f"GIDDataset variant must be 'gid5' or 'gid15', got {variant!r}")
        if variant == 'gid15' and kwargs.get('metainfo') is None:
            kwargs['metainfo'] = GID15_METAINFO
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)

    @classmethod
    def get_label_map(cls, new_classes: Optional[Sequence] = None) -> Optional[dict]:
        # the GID-15 names are another label set, not a subset of GID-5: no name-matching remap for them
        if new_classes is not None and tuple(new_classes) == GID15_METAINFO['classes']:
            return None
        return super().get_label_map(new_classes)

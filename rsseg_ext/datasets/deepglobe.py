"""DeepGlobe Land Cover (Demir et al., CVPR-W 2018): 2448x2448 RGB at 50 cm, 7 classes incl. "unknown"."""
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class DeepGlobeLandCoverDataset(BaseSegDataset):
    """DeepGlobe Land Cover in the layout written by ``data_converters/deepglobe.py``.

    mmseg layout: ``img_dir/<split>/<id>.jpg`` and ``ann_dir/<split>/<id>.png`` (class indices 0..6, converted
    from the official colour masks), split lists ``splits/{train,val,test}.txt`` (GLNet protocol: 454 / 207 / 142)
    as ``ann_file``.
    Class 0 "unknown" is trained as a class (FCtL/GLNet) and left out of the means with
    ``RSSegMetric(exclude_classes=['unknown'])``; ``reduce_zero_label=True`` gives the 6-class variant
    (unknown ignored).
    """
    METAINFO = dict(
        classes=('unknown', 'urban', 'agriculture', 'rangeland', 'forest', 'water', 'barren'),
        palette=[[0, 0, 0], [0, 255, 255], [255, 255, 0], [255, 0, 255], [0, 255, 0], [0, 0, 255],
                 [255, 255, 255]])

    def __init__(self, img_suffix: str = '.jpg', seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False, **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)

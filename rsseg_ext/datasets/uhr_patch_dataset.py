"""A dataset wrapper that turns every ultra-high-resolution image into one sample per grid patch (FCtL/GLNet:
one epoch = all patches of all images)."""
import copy
import os.path as osp
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset

from mmseg.registry import DATASETS

from rsseg_ext.utils.grid import uhr_positions


def _image_size(path: str) -> Tuple[int, int]:
    """(H, W) from the file header (no full decode of a 5000x5000 tile)."""
    ext = osp.splitext(path)[1].lower()
    if ext in ('.tif', '.tiff'):
        import rasterio
        with rasterio.open(path) as ds:
            return ds.height, ds.width
    from PIL import Image
    with Image.open(path) as im:
        return im.size[1], im.size[0]


@DATASETS.register_module()
class UHRPatchDataset:
    """Expand each image of ``dataset`` into patch samples.

    Each sample is the wrapped dataset's data info plus ``patch_index`` (a flat index into the image's GLNet grid,
    resolved by ``GenerateMultiContextPatch`` on the image *after* augmentation) and ``num_patches``; the wrapped
    dataset's pipeline then loads the full image and cuts the patch and its contexts.

    Args:
        dataset: the image dataset (config or object), whose pipeline contains ``GenerateMultiContextPatch``.
        patch_size, min_overlap: the grid (``uhr_positions``); DeepGlobe 2448 -> 36 patches, Inria 5000 -> 121.
        image_size: ``(H, W)`` shared by all images (DeepGlobe ``(2448, 2448)``), or ``None`` to read every
            image's header once.
        sampling: ``'grid'`` (every grid patch) or ``'random'`` (``num_random_per_image`` random positions per image
            and epoch; the transform draws them).
        num_random_per_image: samples per image with ``'random'``.
    """

    def __init__(self, dataset: Union[dict, BaseDataset], patch_size: int = 508, min_overlap: int = 50,
                 image_size: Optional[Sequence[int]] = None, sampling: str = 'grid',
                 num_random_per_image: int = 36, lazy_init: bool = False) -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        if sampling not in ('grid', 'random'):
            raise ValueError(f"sampling must be 'grid' or 'random', got {sampling!r}")
        self.patch_size, self.min_overlap, self.sampling = int(patch_size), int(min_overlap), sampling
        self.image_size = tuple(image_size) if image_size is not None else None
        self.num_random_per_image = int(num_random_per_image)
        self._index: List[Tuple[int, Optional[int], int]] = []
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(self.dataset.metainfo)

    @property
    def pipeline(self):
        return self.dataset.pipeline

    def num_patches(self, height: int, width: int) -> int:
        return (len(uhr_positions(height, self.patch_size, self.min_overlap)) *
                len(uhr_positions(width, self.patch_size, self.min_overlap)))

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        self.dataset.full_init()
        index = []
        for i in range(len(self.dataset)):
            if self.sampling == 'random':
                index += [(i, None, self.num_random_per_image)] * self.num_random_per_image
                continue
            h, w = self.image_size or _image_size(self.dataset.get_data_info(i)['img_path'])
            n = self.num_patches(h, w)
            index += [(i, k, n) for k in range(n)]
        self._index = index
        self._fully_initialized = True

    def __len__(self) -> int:
        self.full_init()
        return len(self._index)

    def get_data_info(self, idx: int) -> dict:
        i, k, n = self._index[idx]
        info = self.dataset.get_data_info(i)
        info['patch_index'], info['num_patches'] = k, n
        return info

    def __getitem__(self, idx: int) -> dict:
        self.full_init()
        return self.dataset.pipeline(self.get_data_info(idx))

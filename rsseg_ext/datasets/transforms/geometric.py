"""Rotations by multiples of 90 degrees: lossless for overhead imagery, which has no canonical "up"."""
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomRotate90(BaseTransform):
    """With probability ``prob``, rotate the image and every segmentation map by ``k * 90`` degrees.

    ``k`` is drawn uniformly from the multiples of 90 in ``angles`` (default 90, 180, 270, as albumentations'
    ``RandomRotate90`` used by D2LS/GeoSeg, and FCtL's ``RandomRot90``). Rotation is counter-clockwise, as
    ``np.rot90(img, k)``; it moves pixels only (no interpolation), so labels stay exact.

    Required Keys:

    - img (H, W) or (H, W, C)

    Modified Keys:

    - img, img_shape (H and W swap for odd k)
    - gt_seg_map and every key in ``seg_fields``

    Added Keys:

    - rotate90_k: the k applied (0 when not rotated)

    Args:
        prob: probability of rotating at all.
        angles: allowed angles in degrees, each a positive multiple of 90 below 360.
    """

    def __init__(self, prob: float = 0.5, angles: Sequence[int] = (90, 180, 270)) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        if isinstance(angles, (int, float)):
            angles = [angles]
        angles = list(angles)
        if not angles or any(a % 90 != 0 or not 0 < a < 360 for a in angles):
            raise ValueError(f'angles must be a non-empty subset of (90, 180, 270) degrees, got {angles}')
        self.prob = prob
        self.angles = angles
        self.ks = sorted({int(a) // 90 for a in angles})

    @cache_randomness
    def _random_k(self) -> Optional[int]:
        # cached so that mmcv's TestTimeAug/KeyMapper wrappers can replay the same draw
        if np.random.rand() >= self.prob:
            return None
        return int(self.ks[np.random.randint(len(self.ks))])

    def transform(self, results: dict) -> dict:
        """Rotate ``results`` in place.

        Args:
            results: the pipeline's result dict.

        Returns:
            The result dict, rotated (arrays are contiguous, as ``PackSegInputs`` needs).
        """
        k = self._random_k()
        results['rotate90_k'] = 0 if k is None else k
        if k is None:
            return results
        results['img'] = np.ascontiguousarray(np.rot90(results['img'], k, axes=(0, 1)))
        results['img_shape'] = results['img'].shape[:2]
        keys = set(results.get('seg_fields', [])) | {'gt_seg_map'}
        for key in sorted(keys):
            if results.get(key) is not None:
                results[key] = np.ascontiguousarray(np.rot90(results[key], k, axes=(0, 1)))
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob}, angles={self.angles})'

"""Four-image mosaic with a random split point (GeoSeg/UNetFormer's ``load_mosaic_img_and_mask``, used by D2LS)."""
import random
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RSMosaic(BaseTransform):
    """Tile random crops of 4 images into one ``H x W`` image (D2LS released code; docs/methods/d2ls.md).

    The split point ``(ox, oy)`` is uniform in ``[W/4, 3W/4] x [H/4, 3H/4]``; image i (the current one, then the
    3 from ``mix_results``) is randomly cropped to its quadrant size ``(ox, oy)``, ``(W-ox, oy)``, ``(ox, H-oy)``,
    ``(W-ox, H-oy)`` and placed top-left, top-right, bottom-left, bottom-right. Images smaller than their
    quadrant are padded (image ``pad_val``, labels ``seg_pad_val``). Unlike mmseg's ``RandomMosaic`` the output
    keeps the input size (no 2x canvas).

    Use inside ``MultiImageMixDataset``: ``get_indices`` draws the coin with probability ``prob`` and asks for 3
    more images only when the mosaic will be applied; ``transform`` mosaics whenever ``mix_results`` holds 3.

    Required Keys: img, gt_seg_map (and ``seg_fields``), mix_results (3 result dicts).
    Modified Keys: img, img_shape, gt_seg_map and every key in ``seg_fields``.

    Args:
        prob: probability of building a mosaic (D2LS: 0.25).
        img_scale: output ``(H, W)``; None = the current image's size.
        pad_val, seg_pad_val: padding values for undersized sources.
    """

    def __init__(self, prob: float = 0.25, img_scale: Optional[Sequence[int]] = None, pad_val: float = 0,
                 seg_pad_val: int = 255) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob
        self.img_scale = tuple(img_scale) if img_scale is not None else None
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val

    def get_indices(self, dataset) -> List[int]:
        """Indices of the 3 extra images, or none when the coin says no mosaic (saves 3 image loads)."""
        if random.random() >= self.prob:
            return []
        return [random.randint(0, len(dataset) - 1) for _ in range(3)]

    @staticmethod
    def _crop(arr: np.ndarray, h: int, w: int, y: int, x: int, pad) -> np.ndarray:
        out = np.full((h, w) + arr.shape[2:], pad, dtype=arr.dtype)
        piece = arr[y:y + h, x:x + w]
        out[:piece.shape[0], :piece.shape[1]] = piece
        return out

    def transform(self, results: dict) -> dict:
        mix = results.get('mix_results') or []
        if len(mix) != 3:
            return results
        sources = [results] + list(mix)
        h, w = self.img_scale or results['img'].shape[:2]
        ox = random.randint(w // 4, 3 * w // 4)
        oy = random.randint(h // 4, 3 * h // 4)
        boxes: List[Tuple[int, int, int, int]] = [(0, 0, oy, ox), (0, ox, oy, w - ox), (oy, 0, h - oy, ox),
                                                  (oy, ox, h - oy, w - ox)]  # (top, left, height, width)
        seg_keys = sorted(set(results.get('seg_fields', [])) | {'gt_seg_map'})
        img = np.full((h, w) + results['img'].shape[2:], self.pad_val, dtype=results['img'].dtype)
        segs = {k: np.full((h, w), self.seg_pad_val, dtype=results[k].dtype) for k in seg_keys
                if results.get(k) is not None}
        for src, (top, left, bh, bw) in zip(sources, boxes):
            sh, sw = src['img'].shape[:2]
            y = random.randint(0, max(sh - bh, 0))  # same random crop window for image and labels
            x = random.randint(0, max(sw - bw, 0))
            img[top:top + bh, left:left + bw] = self._crop(src['img'], bh, bw, y, x, self.pad_val)
            for k, canvas in segs.items():
                canvas[top:top + bh, left:left + bw] = self._crop(src[k], bh, bw, y, x, self.seg_pad_val)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results.update(segs)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob}, img_scale={self.img_scale})'

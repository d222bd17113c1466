"""Photometric augmentations with albumentations semantics, reimplemented so that results do not depend on the
albumentations version (D2LS released code's UAVid / Cloud / Grass pipelines;
docs/methods/d2ls.md)."""
from typing import Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS


def _clip(img: np.ndarray, dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(img), info.min, info.max).astype(dtype)
    return img.astype(dtype)


@TRANSFORMS.register_module()
class RandomBrightnessContrast(BaseTransform):
    """With probability ``prob``: ``img * alpha + beta * max_value``, clipped, with ``alpha = 1 + U(-c, c)`` and
    ``beta = U(-b, b)`` (albumentations ``RandomBrightnessContrast(brightness_by_max=True)``). Labels untouched.

    Args:
        brightness_limit: b (D2LS: 0.25).
        contrast_limit: c (D2LS: 0.25).
        prob: probability (D2LS: 0.25).
        max_value: the value range top (255 for uint8 images).
    """

    def __init__(self, brightness_limit: float = 0.25, contrast_limit: float = 0.25, prob: float = 0.25,
                 max_value: float = 255.0) -> None:
        self.brightness_limit = brightness_limit
        self.contrast_limit = contrast_limit
        self.prob = prob
        self.max_value = max_value

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        alpha = 1.0 + np.random.uniform(-self.contrast_limit, self.contrast_limit)
        beta = np.random.uniform(-self.brightness_limit, self.brightness_limit)
        img = results['img']
        out = img.astype(np.float32) * alpha + beta * self.max_value
        if np.issubdtype(img.dtype, np.integer):
            out = np.clip(out, 0, self.max_value)
        results['img'] = _clip(out, img.dtype)
        return results


@TRANSFORMS.register_module()
class Sharpen(BaseTransform):
    """With probability ``prob``, convolve with ``(1 - a) * delta + a * [[-1,-1,-1],[-1,8+l,-1],[-1,-1,-1]]``,
    ``a ~ U(alpha)``, ``l ~ U(lightness)`` (albumentations ``Sharpen``). Labels untouched.

    Args:
        alpha: range of the blend a between identity and the sharpening kernel (0.2, 0.5).
        lightness: range of l (0.5, 1.0).
        prob: probability (albumentations default 0.5).
    """

    def __init__(self, alpha: Sequence[float] = (0.2, 0.5), lightness: Sequence[float] = (0.5, 1.0),
                 prob: float = 0.5) -> None:
        self.alpha: Tuple[float, float] = tuple(alpha)
        self.lightness: Tuple[float, float] = tuple(lightness)
        self.prob = prob

    @staticmethod
    def kernel(alpha: float, lightness: float) -> np.ndarray:
        ident = np.zeros((3, 3), np.float32)
        ident[1, 1] = 1
        sharp = np.full((3, 3), -1, np.float32)
        sharp[1, 1] = 8 + lightness
        return (1 - alpha) * ident + alpha * sharp

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        k = self.kernel(np.random.uniform(*self.alpha), np.random.uniform(*self.lightness))
        img = results['img']
        out = cv2.filter2D(img.astype(np.float32), -1, k, borderType=cv2.BORDER_REFLECT_101)
        if np.issubdtype(img.dtype, np.integer):
            out = np.clip(out, 0, np.iinfo(img.dtype).max)
        results['img'] = _clip(out, img.dtype)
        return results

"""FCtL training input: a patch and its co-centred context windows cut from the full-resolution image."""
from typing import Sequence, Tuple, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS

from rsseg_ext.utils.context_crops import crop_padded_np, resize_aa
from rsseg_ext.utils.grid import context_window, uhr_grid


@TRANSFORMS.register_module()
class GenerateMultiContextPatch(BaseTransform):
    """Cut a ``p x p`` patch and its contexts (FCtL paper Sec. 3.2) and stack them along the channels.

    Each context is a co-centred window ``lam`` times the patch (zero-padded in raw pixel space past the border,
    as the authors' code) or the whole image (``'global'``), resized to ``p x p`` with antialiased bilinear
    (:func:`rsseg_ext.utils.context_crops.resize_aa`, the resampler of the segmentor's test path), rounded back to
    uint8. Run it on the full image, after any full-image augmentation (``RandomFlip``, ``RandomRotate90``).

    Patch position: ``results['patch_box']`` (``(y1, x1, y2, x2)``), else ``results['patch_index']`` (a flat index
    into the GLNet grid of the *current* image, so it stays valid after a rotation; set by ``UHRPatchDataset``),
    else a uniformly random position.

    Required Keys: img (H, W, C), gt_seg_map (optional)

    Modified Keys: img -> (p, p, C (1 + n_ctx)) uint8 [patch, ctx_1, ...]; gt_seg_map and ``seg_fields`` -> the patch's
    (p, p) labels (``seg_pad_val`` past the border); img_shape, ori_shape -> (p, p)

    Added Keys: patch_box (y1, x1, y2, x2) in the full image; ctx_boxes (n_ctx, 4) float32: the patch in each
    context's normalised (x1, y1, x2, y2); ctx_specs; full_shape (H, W)

    Args:
        patch_size: ``p``.
        contexts: the model's branches; scale 1.0 (the patch itself) adds no input.
        border: ``'pad'`` or ``'shift'`` (see :func:`rsseg_ext.utils.grid.context_window`).
        pad_val: raw image value past the border (0: black, the code's ``ImageOps.expand``).
        seg_pad_val: label value past the border (only for images smaller than the patch).
        min_overlap: of the GLNet grid used with ``patch_index``.
    """

    def __init__(self, patch_size: int = 508, contexts: Sequence[Union[float, str]] = (1.0, 3.0, 'global'),
                 border: str = 'pad', pad_val: int = 0, seg_pad_val: int = 255, min_overlap: int = 50) -> None:
        self.patch_size = int(patch_size)
        self.ctx_specs = tuple('global' if s == 'global' else float(s) for s in contexts if s != 1.0)
        if border not in ('pad', 'shift'):
            raise ValueError(f"border must be 'pad' or 'shift', got {border!r}")
        self.border, self.pad_val, self.seg_pad_val, self.min_overlap = border, pad_val, seg_pad_val, min_overlap

    def _window(self, results: dict, h: int, w: int) -> Tuple[int, int, int, int]:
        p = self.patch_size
        if results.get('patch_box') is not None:
            return tuple(int(v) for v in results['patch_box'])
        if results.get('patch_index') is not None:
            grid = uhr_grid(h, w, p, self.min_overlap)
            return grid[int(results['patch_index']) % len(grid)]
        y = np.random.randint(0, max(h - p, 0) + 1)
        x = np.random.randint(0, max(w - p, 0) + 1)
        return (y, x, y + p, x + p)

    def _resize(self, crop: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1)[None].float()
        out = resize_aa(t, self.patch_size)[0].permute(1, 2, 0)
        return out.round().clamp(0, 255).to(torch.uint8).numpy() if crop.dtype == np.uint8 else out.numpy()

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim == 2:
            img = img[..., None]
        h, w = img.shape[:2]
        win = self._window(results, h, w)
        parts = [crop_padded_np(img, win, self.pad_val)]
        boxes = []
        for spec in self.ctx_specs:
            cwin, box = context_window(win, spec, h, w, self.border)
            boxes.append(box)
            parts.append(self._resize(img if spec == 'global' else crop_padded_np(img, cwin, self.pad_val)))
        results['img'] = np.ascontiguousarray(np.concatenate(parts, axis=2))
        for key in set(results.get('seg_fields', [])) | ({'gt_seg_map'} & set(results)):
            results[key] = np.ascontiguousarray(crop_padded_np(results[key], win, self.seg_pad_val))
        p = self.patch_size
        results['full_shape'] = (h, w)
        results['img_shape'] = results['ori_shape'] = (p, p)
        results['patch_box'] = tuple(int(v) for v in win)
        results['ctx_boxes'] = np.asarray(boxes, dtype=np.float32).reshape(len(self.ctx_specs), 4)
        results['ctx_specs'] = self.ctx_specs
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(patch_size={self.patch_size}, contexts={self.ctx_specs}, '
                f'border={self.border!r})')

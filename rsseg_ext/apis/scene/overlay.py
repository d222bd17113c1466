"""A quick look at a whole scene: the label GeoTIFF coloured over its image, decimated, as PNG."""
import os.path as osp
from typing import Optional, Sequence, Tuple

import numpy as np

from ...utils.fileio import atomic_write_bytes
from .raster_io import OUTPUT_NODATA, check_bands, open_raster

__all__ = ['write_overlay_png']


def _stretch(img: np.ndarray) -> np.ndarray:
    """(B, h, w) any dtype -> uint8, per band 2-98 percentile stretch (uint8 passes through)."""
    if img.dtype == np.uint8:
        return img
    out = np.empty(img.shape, np.uint8)
    for i, b in enumerate(img.astype(np.float64)):
        lo, hi = np.nanpercentile(b, (2, 98)) if np.isfinite(b).any() else (0.0, 1.0)
        out[i] = np.clip((b - lo) / max(hi - lo, 1e-12) * 255, 0, 255).astype(np.uint8)
    return out


def write_overlay_png(pred_tif: str, image_tif: str, out_png: str, bands: Sequence[int] = (1, 2, 3),
                      alpha: float = 0.5, max_size: int = 2048,
                      palette: Optional[Sequence[Sequence[int]]] = None) -> Tuple[int, int]:
    """Write a colour overlay of a label GeoTIFF over its image as PNG (a quick look at a whole scene).

    Both rasters are read decimated (rasterio ``out_shape``) so the long side is at most ``max_size``; labels
    with nearest-neighbour, the image averaged. Colours come from ``palette`` or the label file's colour table
    (a fixed random palette otherwise); label 255 (nodata) shows the bare image. Non-uint8 images are stretched
    to 2-98 percent per band.

    Returns:
        ``(height, width)`` of the PNG.
    """
    import cv2
    from rasterio.enums import Resampling

    pred = open_raster(pred_tif)
    img = open_raster(image_tif)
    try:
        bands = check_bands(bands, img.count, image_tif)
        H, W = pred.height, pred.width
        f = max(H, W) / max_size
        oh, ow = (H, W) if f <= 1 else (max(1, round(H / f)), max(1, round(W / f)))
        lab = pred.read(1, out_shape=(oh, ow), resampling=Resampling.nearest)
        im = img.read(bands, out_shape=(len(bands), oh, ow), resampling=Resampling.average)
        if palette is None:
            try:
                cmap = pred.colormap(1)
                palette = [cmap.get(i, (0, 0, 0, 0))[:3] for i in range(256)]
            except ValueError:
                rng = np.random.RandomState(42)
                palette = rng.randint(0, 256, (256, 3))
    finally:
        pred.close()
        img.close()
    lut = np.zeros((256, 3), np.uint8)
    pal = np.asarray(palette, dtype=np.uint8)[:256, :3]
    lut[:len(pal)] = pal
    im = _stretch(im)
    if im.shape[0] == 1:
        im = np.repeat(im, 3, 0)
    rgb = np.transpose(im[:3], (1, 2, 0)).astype(np.float32)
    color = lut[lab].astype(np.float32)
    valid = (lab != OUTPUT_NODATA)[..., None]
    out = np.where(valid, (1 - alpha) * rgb + alpha * color, rgb)
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    ok, png = cv2.imencode(osp.splitext(out_png)[1] or '.png', out[..., ::-1].copy())
    if not ok:
        raise ValueError(f'could not encode the overlay for {out_png!r}: name it .png')
    if not osp.isdir(osp.dirname(osp.abspath(out_png))):
        raise FileNotFoundError(f'the folder of the overlay {out_png!r} does not exist')
    atomic_write_bytes(out_png, png.tobytes())  # temp + rename: never a half-written PNG under its name
    return out.shape[0], out.shape[1]

"""Raster loading with rasterio: GeoTIFFs of any band count and dtype, keeping the georeferencing."""
import os.path as osp
import warnings
from typing import List, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadRasterImageFromFile(BaseTransform):
    """Load an image with rasterio (GeoTIFF, or anything GDAL reads) and record its georeferencing.

    A drop-in for mmseg's ``LoadImageFromFile`` where cv2 fails or loses information: more than 3 bands, 16-bit
    or float data, band selection, nodata. With the defaults an 8-bit RGB GeoTIFF yields the same array as
    ``LoadImageFromFile`` (cv2 returns BGR), so ``SegDataPreProcessor(bgr_to_rgb=True)`` configs work unchanged.

    Required Keys:

    - img_path

    Added Keys:

    - img: (H, W, C) array, the file's dtype, or float32 with ``to_float32``
    - img_shape: (H, W)
    - ori_shape: (H, W)
    - geo_meta: dict with ``crs`` (WKT string, or None when the file has no CRS), ``transform`` (the 6 affine
      coefficients ``(a, b, c, d, e, f)`` in rasterio order: ``x = a*col + b*row + c``, ``y = d*col + e*row + f``;
      identity for non-georeferenced files), ``nodata`` (the file's nodata value of the first selected band, or
      None), ``bands`` (1-based band indices read, in file order) and ``size`` (width, height).
      Add ``'geo_meta'`` to ``PackSegInputs(meta_keys=...)`` to carry it into the data samples.

    Args:
        bands: 1-based band indices to read, in this order; ``None`` reads all bands.
        to_float32: convert the image to float32.
        channel_order: ``'bgr'`` (default) reverses the first 3 of the read bands, so that bands stored as
            R, G, B come out B, G, R like cv2's loader and the usual ``bgr_to_rgb=True`` preprocessor restores RGB;
            bands after the third keep their order. ``'rgb'`` keeps the order of ``bands``. With fewer than 3
            bands nothing is reordered.
        nodata_to: if not None, pixels equal to a band's nodata value (NaN counts as equal to a NaN nodata) are
            set to this value in that band. It must be representable in the output dtype.
    """

    def __init__(self,
                 bands: Optional[Sequence[int]] = None,
                 to_float32: bool = False,
                 channel_order: str = 'bgr',
                 nodata_to: Optional[float] = None) -> None:
        if channel_order not in ('rgb', 'bgr'):
            raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        if bands is not None:
            bands = [int(b) for b in bands]
            if not bands or min(bands) < 1:
                raise ValueError(f'bands are 1-based band indices (rasterio/GDAL convention), got {bands}')
        self.bands: Optional[List[int]] = bands
        self.to_float32 = to_float32
        self.channel_order = channel_order
        self.nodata_to = nodata_to

    def transform(self, results: dict) -> dict:
        """Read ``results['img_path']``.

        Args:
            results: the pipeline's result dict.

        Returns:
            The result dict with ``img``, ``img_shape``, ``ori_shape`` and ``geo_meta``.
        """
        # imported lazily: rasterio (GDAL) is only needed by pipelines that use this transform
        import rasterio
        from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

        path = results['img_path']
        # GDAL virtual paths (/vsizip/..., /vsicurl/...) and URLs are not on the local disk
        is_virtual = str(path).startswith('/vsi') or '://' in str(path)
        if not is_virtual and not osp.isfile(path):
            raise FileNotFoundError(f'image file not found: {path}')
        try:
            with warnings.catch_warnings():
                # plain PNG/JPEG tiles have no georeferencing; that is normal for most datasets
                warnings.simplefilter('ignore', NotGeoreferencedWarning)
                with rasterio.open(path) as src:
                    bands = self.bands if self.bands is not None else list(range(1, src.count + 1))
                    if max(bands) > src.count:
                        raise ValueError(f'bands={bands} requested from {path}, which has {src.count} band(s) '
                                         f'(valid indices 1..{src.count})')
                    img = src.read(indexes=bands)  # (C, H, W)
                    nodatavals = [src.nodatavals[b - 1] for b in bands]
                    geo_meta = dict(
                        crs=src.crs.to_wkt() if src.crs is not None else None,
                        transform=tuple(float(v) for v in tuple(src.transform)[:6]),
                        nodata=nodatavals[0],
                        bands=list(bands),
                        size=(src.width, src.height))
        except RasterioIOError as e:
            raise OSError(f'rasterio could not open {path} as a raster ({e}); is it an image file that GDAL '
                          f'supports?') from e

        if self.to_float32:
            img = img.astype(np.float32)
        if self.nodata_to is not None:
            img = self._fill_nodata(img, nodatavals, path)
        if self.channel_order == 'bgr' and img.shape[0] >= 3:
            img = np.concatenate([img[2::-1], img[3:]], axis=0)
        img = np.ascontiguousarray(img.transpose(1, 2, 0))  # (H, W, C)

        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        results['geo_meta'] = geo_meta
        return results

    def _fill_nodata(self, img: np.ndarray, nodatavals: List[Optional[float]], path: str) -> np.ndarray:
        """Replace each band's nodata pixels by ``nodata_to``. ``img`` is (C, H, W)."""
        fill = np.asarray(self.nodata_to).astype(img.dtype)
        if not np.isclose(float(fill), float(self.nodata_to), equal_nan=True):
            raise ValueError(f'nodata_to={self.nodata_to} is not representable in the {img.dtype} data of {path}; '
                             f'use to_float32=True or a value in range')
        img = img.copy()
        for i, nodata in enumerate(nodatavals):
            if nodata is None:
                continue
            mask = np.isnan(img[i]) if np.isnan(nodata) else img[i] == np.asarray(nodata).astype(img.dtype)
            img[i][mask] = fill
        return img

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(bands={self.bands}, to_float32={self.to_float32}, '
                f"channel_order='{self.channel_order}', nodata_to={self.nodata_to})")

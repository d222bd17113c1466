"""Synthetic remote-sensing-like scenes: fields, forest, a river and lakes, roads and buildings.

Used by the demo (``tools/demo.py``) and the tests. Not a substitute for real data, but shaped like it: land-cover
parcels with crop-row texture, smooth forest and water bodies, thin linear roads, small rectangular buildings
along the roads with shadows, and a near-infrared band that separates vegetation from water.

Classes (index: name): 0 farmland, 1 building, 2 road, 3 water, 4 forest, 5 bare soil.
"""
import os
import os.path as osp
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

from .fileio import atomic_write_bytes, commit, temp_path

CLASSES = ('farmland', 'building', 'road', 'water', 'forest', 'bare_soil')
PALETTE = [[250, 230, 120], [230, 30, 30], [160, 160, 160], [40, 90, 230], [20, 130, 40],
           [160, 110, 60]]
FARMLAND, BUILDING, ROAD, WATER, FOREST, BARE = range(6)


def _write_png(path: str, array: np.ndarray) -> None:
    """Write ``array`` (H, W) or (H, W, 3 BGR) as PNG, atomically (a tile that exists is complete, so a rerun may
    skip it); not fsynced one by one, like the dataset converters' tiles."""
    ok, buf = cv2.imencode('.png', array)
    if not ok:
        raise ValueError(f'could not encode {path} as PNG')
    atomic_write_bytes(path, buf.tobytes(), fsync=False)

# (R, G, B, NIR) base reflectance per class; fields draw from several crop colours.
_CROP_COLOURS = np.array([[110, 150, 60, 190], [150, 170, 80, 170], [190, 180, 110, 140],
                          [90, 130, 50, 200], [170, 150, 90, 130]], dtype=np.float32)
_BARE_COLOUR = np.array([185, 150, 115, 110], dtype=np.float32)
_FOREST_COLOUR = np.array([45, 85, 40, 215], dtype=np.float32)
_WATER_COLOUR = np.array([35, 65, 95, 20], dtype=np.float32)
_ROAD_COLOUR = np.array([95, 95, 100, 70], dtype=np.float32)
_ROOF_COLOURS = np.array([[170, 70, 60, 80], [200, 200, 195, 120], [110, 110, 120, 70],
                          [150, 100, 70, 90]], dtype=np.float32)


def _smooth_noise(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """Smooth random field in [0, 1] with features about ``scale`` pixels wide."""
    gh, gw = max(2, int(h / scale) + 2), max(2, int(w / scale) + 2)
    coarse = rng.random((gh, gw)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    field = cv2.GaussianBlur(field, (0, 0), sigmaX=max(scale / 4, 1))
    lo, hi = float(field.min()), float(field.max())
    return (field - lo) / max(hi - lo, 1e-6)


def _fields(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Voronoi parcels: int32 map of parcel ids (nearest random seed point)."""
    n = max(4, (h * w) // (cell * cell))
    seeds = np.ones((h, w), np.uint8)
    ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
    seeds[ys, xs] = 0
    _, ids = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    return ids


def _river(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Mask of a meandering river crossing the scene."""
    mask = np.zeros((h, w), np.uint8)
    n = 12
    horizontal = rng.random() < 0.5
    t = np.linspace(-0.1, 1.1, n)
    wander = np.cumsum(rng.normal(0, 0.08, n))
    off = np.clip(rng.uniform(0.2, 0.8) + wander - wander.mean(), 0.05, 0.95)
    if horizontal:
        pts = np.stack([t * w, off * h], 1)
    else:
        pts = np.stack([off * w, t * h], 1)
    # densify with a smooth curve so the banks are not polygonal
    fine = np.linspace(0, n - 1, n * 20)
    px = np.interp(fine, np.arange(n), pts[:, 0])
    py = np.interp(fine, np.arange(n), pts[:, 1])
    k = 15
    px = np.convolve(np.pad(px, k, mode='edge'), np.ones(2 * k + 1) / (2 * k + 1), 'valid')
    py = np.convolve(np.pad(py, k, mode='edge'), np.ones(2 * k + 1) / (2 * k + 1), 'valid')
    width = int(np.clip(min(h, w) * rng.uniform(0.02, 0.05), 4, 60))
    cv2.polylines(mask, [np.stack([px, py], 1).astype(np.int32)], False, 1, width)
    return mask.astype(bool)


def _roads(rng: np.random.Generator, h: int, w: int, spacing: int) -> Tuple[np.ndarray, list]:
    """Roughly gridded straight roads; returns the mask and the segments (for placing buildings)."""
    mask = np.zeros((h, w), np.uint8)
    segments = []
    width = int(np.clip(min(h, w) / 80, 5, 12))
    for axis in (0, 1):
        length = h if axis == 0 else w
        for pos in np.arange(rng.uniform(0.3, 0.8) * spacing, length, spacing):
            jitter = rng.normal(0, spacing * 0.08, 2)
            if axis == 0:  # horizontal road at row ~pos
                p0, p1 = (-10, pos + jitter[0]), (w + 10, pos + jitter[1])
            else:
                p0, p1 = (pos + jitter[0], -10), (pos + jitter[1], h + 10)
            p0i = tuple(int(v) for v in p0)
            p1i = tuple(int(v) for v in p1)
            cv2.line(mask, p0i, p1i, 1, width)
            segments.append((np.array(p0, float), np.array(p1, float), width))
    return mask.astype(bool), segments


def _buildings(rng: np.random.Generator, h: int, w: int, segments: list,
               density: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rotated rectangles set back from the roads; returns (mask, roof-colour index map, shadow mask)."""
    mask = np.zeros((h, w), np.uint8)
    roof = np.full((h, w), -1, np.int16)
    shadow = np.zeros((h, w), np.uint8)
    for p0, p1, rw in segments:
        d = p1 - p0
        seg_len = float(np.hypot(*d))
        u = d / max(seg_len, 1e-6)
        nrm = np.array([-u[1], u[0]])
        angle = float(np.degrees(np.arctan2(u[1], u[0])))
        for s in np.arange(0, seg_len, rng.uniform(14, 22)):
            if rng.random() > density:
                continue
            side = 1 if rng.random() < 0.5 else -1
            size = rng.uniform(7, 16, 2)
            centre = p0 + u * s + nrm * side * (rw / 2 + 3 + size[1] / 2 + rng.uniform(0, 4))
            box = cv2.boxPoints(((float(centre[0]), float(centre[1])), (float(size[0]), float(size[1])),
                                 angle + rng.normal(0, 4))).astype(np.int32)
            cv2.fillPoly(shadow, [box + np.array([3, 3], np.int32)], 1)
            cv2.fillPoly(mask, [box], 1)
            colour = int(rng.integers(0, len(_ROOF_COLOURS)))
            tmp = np.zeros((h, w), np.uint8)
            cv2.fillPoly(tmp, [box], 1)
            roof[tmp.astype(bool)] = colour
    return mask.astype(bool), roof, shadow.astype(bool) & ~mask.astype(bool)


def generate_scene(height: int, width: int, seed: int = 0,
                   scale: float = 1.0) -> Tuple[np.ndarray, np.ndarray]:
    """Generate one scene.

    Args:
        height, width: size in pixels.
        seed: random seed (same seed, same scene).
        scale: object size multiplier (1.0 suits 64–1024 px tiles at a "1 m" look).

    Returns:
        image: (H, W, 4) uint8, bands R, G, B, NIR; never all-zero (0 is free for nodata).
        label: (H, W) uint8 class indices into :data:`CLASSES`.
    """
    rng = np.random.default_rng(seed)
    h, w = int(height), int(width)
    label = np.full((h, w), FARMLAND, np.uint8)
    img = np.zeros((h, w, 4), np.float32)

    # fields: each parcel a crop colour with oriented row texture; some parcels bare soil
    ids = _fields(rng, h, w, int(64 * scale))
    n_ids = int(ids.max()) + 1
    crop = rng.integers(0, len(_CROP_COLOURS), n_ids)
    bare = rng.random(n_ids) < 0.15
    theta = rng.uniform(0, np.pi, n_ids)
    period = rng.uniform(4, 9, n_ids) * scale
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rows = np.sin((xx * np.cos(theta)[ids] + yy * np.sin(theta)[ids]) * (2 * np.pi / period[ids]))
    img[:] = _CROP_COLOURS[crop][ids]
    img[bare[ids]] = _BARE_COLOUR
    img *= (1 + 0.08 * rows)[..., None]
    label[bare[ids]] = BARE
    # parcel boundaries: thin darker hedges, still farmland
    edges = cv2.morphologyEx((ids % 251).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    img[edges] *= 0.85

    # forest: smooth blobs with canopy texture
    forest = _smooth_noise(rng, h, w, 90 * scale) > 0.68
    canopy = _smooth_noise(rng, h, w, 3 * scale)
    label[forest] = FOREST
    img[forest] = _FOREST_COLOUR * (0.8 + 0.4 * canopy[forest])[:, None]

    # water: a river and lakes, smooth and dark
    water = _river(rng, h, w) | (_smooth_noise(rng, h, w, 120 * scale) > 0.9)
    label[water] = WATER
    ripple = _smooth_noise(rng, h, w, 6 * scale)
    img[water] = _WATER_COLOUR * (0.9 + 0.2 * ripple[water])[:, None]

    # roads on top, then buildings along them (not in water)
    roads, segments = _roads(rng, h, w, int(rng.uniform(160, 260) * scale))
    label[roads] = ROAD
    img[roads] = _ROAD_COLOUR
    bmask, roof, shadow = _buildings(rng, h, w, segments, density=0.55)
    bmask &= ~water & ~roads
    shadow &= ~water & ~roads
    img[shadow] *= 0.55
    label[bmask] = BUILDING
    img[bmask] = _ROOF_COLOURS[np.clip(roof[bmask], 0, None)]

    # sensor look: slight blur and noise
    img = cv2.GaussianBlur(img, (0, 0), sigmaX=0.7)
    img += rng.normal(0, 4, img.shape).astype(np.float32)
    return np.clip(img, 1, 255).astype(np.uint8), label


def make_synthetic_dataset(out_dir: str, num_scenes: Dict[str, int] = None, scene_size: int = 512,
                           tile: int = 128, seed: int = 0) -> Dict[str, int]:
    """Write an mmseg-layout dataset: ``img_dir/{split}/*.png`` (RGB) and ``ann_dir/{split}/*.png``.

    Each split gets ``num_scenes[split]`` scenes of ``scene_size``², cut into ``tile``² tiles. Files already
    present are kept (re-running is cheap); every file is written to a temp name and renamed.

    Returns:
        number of tiles per split.
    """
    num_scenes = num_scenes or dict(train=3, val=1)
    counts = {}
    for split_idx, (split, n) in enumerate(sorted(num_scenes.items())):
        count = 0
        for s in range(n):
            names = [f'scene{s:02d}_{y:04d}_{x:04d}' for y in range(0, scene_size - tile + 1, tile)
                     for x in range(0, scene_size - tile + 1, tile)]
            done = all(
                osp.isfile(osp.join(out_dir, d, split, nm + '.png')) for d in ('img_dir', 'ann_dir')
                for nm in names)
            if not done:
                img, lab = generate_scene(scene_size, scene_size, seed=seed + 1000 * split_idx + s)
                for nm in names:
                    y, x = (int(v) for v in nm.split('_')[1:])
                    _write_png(osp.join(out_dir, 'img_dir', split, nm + '.png'),
                               img[y:y + tile, x:x + tile, 2::-1])  # RGB -> BGR for cv2
                    _write_png(osp.join(out_dir, 'ann_dir', split, nm + '.png'), lab[y:y + tile, x:x + tile])
            count += len(names)
        counts[split] = count
    return counts


def make_synthetic_geotiff(path: str, height: int = 1024, width: int = 1536, seed: int = 123,
                           crs: str = 'EPSG:32633', origin: Tuple[float, float] = (500000.0, 5400000.0),
                           resolution: float = 0.5, nodata: Optional[int] = 0,
                           nodata_corner: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """Write a 4-band (R, G, B, NIR) uint8 GeoTIFF scene with a CRS and transform.

    With ``nodata_corner`` a triangle in the top-left corner is set to ``nodata`` in every band (like the
    no-data margin of a rotated orthophoto). Returns the label map (nodata pixels keep their class here) and
    the boolean nodata mask.
    """
    import rasterio
    from rasterio.transform import from_origin

    img, label = generate_scene(height, width, seed=seed, scale=max(1.0, min(height, width) / 1024))
    mask = np.zeros((height, width), bool)
    if nodata_corner and nodata is not None:
        yy, xx = np.mgrid[0:height, 0:width]
        mask = (yy / height + xx / width) < 0.15
        img[mask] = nodata
    profile = dict(driver='GTiff', height=height, width=width, count=4, dtype='uint8', crs=crs,
                   transform=from_origin(origin[0], origin[1], resolution, resolution), nodata=nodata,
                   tiled=True, blockxsize=256, blockysize=256, compress='deflate')
    tmp = temp_path(path)
    try:
        with rasterio.open(tmp, 'w', **profile) as dst:
            dst.write(img.transpose(2, 0, 1))
            for band, name in enumerate(('red', 'green', 'blue', 'nir'), 1):
                dst.set_band_description(band, name)
    except BaseException:
        os.remove(tmp)
        raise
    commit(tmp, path)  # umask mode, rename
    return label, mask

"""A fake GID release (Gaofen Image Dataset), scaled down, built from the official description -- not from the
converter.

Facts and their sources:
* Archive / top folder "Large-scale Classification_5classes" (GID-5) and "Fine Land-cover
  Classification_15classes" (GID-15): the GID page https://x-ytong.github.io/project/GID.html.
* Inside: ``image_RGB/<scene>.tif`` (3-band), ``image_NirRGB/<scene>.tif`` (4-band NIR-R-G-B, the SAME file name),
  ``label_5classes/<scene>_label.tif`` (colour TIFF): the GID page ("RGB and NIR-RGB images", "<name>_label"), and
  public loaders of the extracted tree that join ``image_RGB`` / ``image_NirRGB`` / ``label_5classes`` with
  ``tif.split('.')[0] + '_label.tif'`` (found by the string "Large-scale Classification_5classes" in public code).
  GID-15 has ``label_15classes/``.
* Scene names such as ``GF2_PMS1__L1A0000647767-MSS1`` (same public code); 150 GID-5 scenes of 7200x6800
  (GID page; public code asserts ``img.shape == (6800, 7200, 3)``) -- here 37x53, an odd size, so the last tile
  row/column is shifted back to the border.
* Label colours: GID page (built-up (255,0,0), farmland (0,255,0), forest (0,255,255), meadow (255,255,0),
  water (0,0,255), unlabeled black; GID-15 colours as listed there).
"""
import os
import os.path as osp
import zipfile

import numpy as np

COLOURS = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (0, 255, 255), (255, 255, 0), (0, 0, 255)]
COLOURS15 = [(0, 0, 0), (200, 0, 0), (250, 0, 150), (200, 150, 150), (250, 150, 150), (0, 200, 0), (150, 250, 0),
             (150, 200, 150), (200, 0, 200), (150, 0, 250), (150, 150, 250), (250, 200, 0), (200, 200, 0),
             (0, 0, 200), (0, 150, 200), (0, 200, 250)]
TOP = 'Large-scale Classification_5classes'
TOP15 = 'Fine Land-cover Classification_15classes'
SCENES = ['GF2_PMS1__L1A0000647767-MSS1', 'GF2_PMS1__L1A0001064454-MSS1', 'GF2_PMS1__L1A0001348919-MSS1',
          'GF2_PMS2__L1A0001119060-MSS2', 'GF2_PMS2__L1A0001757484-MSS2']
SIZE = (37, 53)  # (H, W): not a multiple of the test tile


def tif(arr: np.ndarray) -> bytes:
    """(H, W, C) uint8 -> TIFF bytes, bands in the given order (rasterio, no colour reordering)."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', NotGeoreferencedWarning)
        with rasterio.MemoryFile() as mem:
            with mem.open(driver='GTiff', height=arr.shape[0], width=arr.shape[1], count=arr.shape[2],
                          dtype='uint8') as ds:
                ds.write(arr.transpose(2, 0, 1))
            return mem.read()


def emit(root: str, top: str, files: dict, form: str) -> str:
    """Write ``files`` ({path under top: bytes}) as ``form``: 'zip' (root/<top>.zip, what the site serves) or
    'tree' (root/<top>/..., what the zip extracts to). Returns the archive or tree path."""
    if form == 'zip':
        path = osp.join(root, f'{top}.zip')
        with zipfile.ZipFile(path, 'w') as zf:
            for name, data in files.items():
                zf.writestr(f'{top}/{name}', data)
        return path
    path = osp.join(root, top)
    for name, data in files.items():
        full = osp.join(path, name)
        os.makedirs(osp.dirname(full), exist_ok=True)
        with open(full, 'wb') as f:
            f.write(data)
    return path


def make_release(root: str, size=SIZE, seed: int = 0, classes: int = 5, form: str = 'zip',
                 scenes=SCENES, drop_labels=(), drop_images=()) -> dict:
    """Write the GID-5 (or GID-15) release; returns {'path', 'scenes': {scene: {'rgb', 'nirrgb', 'idx',
    'label_rgb'}}}. ``drop_labels`` / ``drop_images``: scenes whose label / RGB image is left out (a partial
    download: the NIR-RGB product stays, as when only some folders were fetched)."""
    rng = np.random.default_rng(seed)
    top, colours = (TOP, COLOURS) if classes == 5 else (TOP15, COLOURS15)
    files, truth = {}, {}
    for scene in scenes:
        rgb = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        # NIR-R-G-B, own random content: a tile taken from any 3 of its bands is caught by the pixel check
        nirrgb = rng.integers(0, 256, (*size, 4), dtype=np.uint8)
        idx = rng.integers(0, classes + 1, (size[0] // 4 + 1, size[1] // 4 + 1)).repeat(4, 0).repeat(4, 1)
        idx = idx[:size[0], :size[1]]
        label_rgb = np.array(colours, np.uint8)[idx]
        if scene not in drop_images:
            files[f'image_RGB/{scene}.tif'] = tif(rgb)
        files[f'image_NirRGB/{scene}.tif'] = tif(nirrgb)
        if scene not in drop_labels:
            files[f'label_{classes}classes/{scene}_label.tif'] = tif(label_rgb)
        truth[scene] = dict(rgb=rgb, nirrgb=nirrgb, idx=idx, label_rgb=label_rgb)
    return dict(path=emit(root, top, files, form), scenes=truth)


def rewrite(zip_path: str, member: str, data) -> None:
    """Replace (``data`` bytes) or remove (``data`` None) one member of a zip."""
    with zipfile.ZipFile(zip_path) as zf:
        items = [(i, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(zip_path, 'w') as zf:
        for info, payload in items:
            if info.filename != member:
                zf.writestr(info, payload)
            elif data is not None:
                zf.writestr(info, data)


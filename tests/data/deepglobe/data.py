"""A fake DeepGlobe Land Cover archive (Kaggle distribution), scaled down, built from the official description --
not from the converter.

Facts and their sources:
* ``archive.zip`` (the name Kaggle's download button gives; the kaggle CLI names it
  ``deepglobe-land-cover-classification-dataset.zip``) from
  https://www.kaggle.com/datasets/balraj98/deepglobe-land-cover-classification-dataset, holding
  ``class_dict.csv`` (``name,r,g,b``), ``metadata.csv`` (``image_id,split,sat_image_path,mask_path``; the
  uploader's DeepGlobe archives share this file, public loaders read ``meta[meta['split'] == split]`` and an empty
  ``mask_path`` for the unlabelled splits), ``train/<id>_sat.jpg`` + ``train/<id>_mask.png`` (803),
  ``valid/<id>_sat.jpg`` (171) and ``test/<id>_sat.jpg`` (172) without masks.
* 2448x2448 RGB at 50 cm; seven classes coded as colours urban (0,255,255), agriculture (255,255,0), rangeland
  (255,0,255), forest (0,255,0), water (0,0,255), barren (255,255,255), unknown (0,0,0); the challenge notes that
  mask values are not always exactly 0/255 and should be binarised at 128 (Demir et al., "DeepGlobe 2018",
  CVPR-W 2018, land cover track; the Kaggle description). Here masks get JPEG-like colour noise (0..40 off the
  pure values) and images are 44 px.
* Image and mask share the id (``<id>_sat.jpg`` / ``<id>_mask.png``): a converter that pairs by id alone can take
  one for the other -- the tests compare pixels.
"""
import os
import os.path as osp
import zipfile

import cv2
import numpy as np

PALETTE = [(0, 0, 0), (0, 255, 255), (255, 255, 0), (255, 0, 255), (0, 255, 0), (0, 0, 255), (255, 255, 255)]
NAMES = ['unknown', 'urban_land', 'agriculture_land', 'rangeland', 'forest_land', 'water', 'barren_land']
NUM_TRAIN, NUM_UNLABELLED, SIZE = 8, 2, 44


def encode(arr: np.ndarray, ext: str) -> bytes:
    return cv2.imencode(ext, arr)[1].tobytes()


def make_mask(rng, size=SIZE):
    """(index (H, W), RGB colour mask (H, W, 3)) with blocks of random classes and JPEG-like off colours."""
    index = rng.integers(0, 7, (size // 4 + 1, size // 4 + 1)).repeat(4, 0).repeat(4, 1)[:size, :size]
    rgb = np.array(PALETTE, np.int16)[index]
    noise = rng.integers(0, 41, rgb.shape)
    rgb = np.where(rgb > 0, rgb - noise, rgb + noise).astype(np.uint8)
    return index.astype(np.uint8), rgb


def make_archive(root: str, seed: int = 0, name: str = 'archive.zip', form: str = 'zip', drop=(),
                 orphan_masks=()) -> dict:
    """Write the archive (``form='zip'``) or the tree it extracts to (``form='tree'``: root/<name without .zip>/)
    under ``root``. ``drop``: train ids left out entirely (still listed in metadata.csv, as in a partial
    download); ``orphan_masks``: train ids whose image is left out. Returns {'path', 'ids' (present pairs),
    'index' {id: (H, W)}, 'rgb' {id: decoded image}, 'mask_rgb' {id: colour mask}, 'all_ids'}."""
    rng = np.random.default_rng(seed)
    files = {'class_dict.csv': 'name,r,g,b\n' + ''.join(f'{n},{r},{g},{b}\n' for n, (r, g, b) in
                                                          zip(NAMES, PALETTE))}
    meta = ['image_id,split,sat_image_path,mask_path']
    out = dict(ids=[], index={}, rgb={}, mask_rgb={}, all_ids=[])
    for k in range(NUM_TRAIN):
        i = str(100000 + 7919 * k)
        out['all_ids'].append(i)
        meta.append(f'{i},train,train/{i}_sat.jpg,train/{i}_mask.png')
        img = encode(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8), '.jpg')
        idx, rgb = make_mask(rng)
        if i in drop:
            continue
        if i not in orphan_masks:
            files[f'train/{i}_sat.jpg'] = img
            out['ids'].append(i)
            out['rgb'][i] = cv2.imdecode(np.frombuffer(img, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
        files[f'train/{i}_mask.png'] = encode(rgb[..., ::-1], '.png')
        out['index'][i], out['mask_rgb'][i] = idx, rgb
    for folder in ('valid', 'test'):
        for k in range(NUM_UNLABELLED):
            i = str(900000 + 100 * len(folder) + k)
            meta.append(f'{i},{folder},{folder}/{i}_sat.jpg,')
            files[f'{folder}/{i}_sat.jpg'] = encode(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8), '.jpg')
    files['metadata.csv'] = '\n'.join(meta) + '\n'
    if form == 'zip':
        path = osp.join(root, name)
        with zipfile.ZipFile(path, 'w') as zf:
            for member, data in files.items():
                zf.writestr(member, data)
    else:
        path = osp.join(root, name[:-4])
        for member, data in files.items():
            full = osp.join(path, member)
            os.makedirs(osp.dirname(full), exist_ok=True)
            with open(full, 'wb') as f:
                f.write(data.encode() if isinstance(data, str) else data)
    out['path'] = path
    return out


def rewrite_member(zip_path: str, member: str, data) -> None:
    """Replace (bytes) or remove (None) one member (to make damaged archives)."""
    with zipfile.ZipFile(zip_path) as zf:
        items = [(i, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(zip_path, 'w') as zf:
        for info, payload in items:
            if info.filename != member:
                zf.writestr(info, payload)
            elif data is not None:
                zf.writestr(info, data)


def write_glnet_lists(folder: str, ids: list, sizes=(4, 2, 2)) -> dict:
    """GLNet-style lists (file names, crossvali.txt = val; https://github.com/VITA-Group/GLNet)."""
    a, b, _ = sizes
    lists = {'train': ids[:a], 'val': ids[a:a + b], 'test': ids[a + b:]}
    for split, fname in (('train', 'train.txt'), ('val', 'crossvali.txt'), ('test', 'test.txt')):
        with open(osp.join(folder, fname), 'w') as f:
            f.write(''.join(f'{i}_sat.jpg\n' for i in lists[split]))
    return lists


"""Convert the official UDD5 release to mmseg layout (OVRSISBench class order).

    python data_converters/udd5.py RAW_DIR -o data/udd5 [--tile 1024] [--nproc 4]

RAW_DIR holds ``UDD5.zip`` as downloaded from https://github.com/MarcWong/UDD (members
``.../{train,val}/src/<name>.JPG`` and ``.../{train,val}/gt/<name>.png``; 4096x2160 and 4000x3000 nadir UAV
images). Labels are colour-coded with the official UDD5 colour map (Vegetation (107,142,35), Building
(102,102,156), Road (128,64,128), Vehicle (0,0,142), Other (0,0,0)) or already class indices 0..4; both are
accepted. Official counts: 120 train / 40 val images (160). Whole images by default (slide inference, the
OVRSISBench setting); ``--tile`` cuts border-aligned tiles (the bundle's re-tiling is unstated; see the docs).
"""
import os.path as osp
import re
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _pairs import ConversionError, PairSpec, find_members, main  # noqa: E402

ARCHIVE = 'UDD5.zip'
MEMBER_RE = re.compile(r'(?:^|/)(train|val|test)/(src|gt)/([^/]+)\.(jpe?g|png)$', re.IGNORECASE)


def pair_items(spec: PairSpec, zpath: str, label_kinds=('gt',), image_kinds=('src',)):
    """(split, name, image, label) from ``<split>/src|gt/<name>.<ext>`` members (UDD5 and VDD layout)."""
    found = {}
    for m in find_members(zpath, spec, osp.basename(zpath)):
        mt = MEMBER_RE.search(m)
        if mt:
            split, kind, name, ext = mt.groups()
            kind = 'img' if kind in image_kinds else 'lab'
            if kind == 'img' and ext.lower() == 'png':
                continue
            found.setdefault((split, name), {})[kind] = (zpath, m)
    if not found:
        raise ConversionError(f'{zpath} has no <split>/src/*.JPG + <split>/gt/*.png members: it is not the '
                              f'official {spec.name} release (download it from {spec.url})')
    items = []
    for (split, name), srcs in sorted(found.items()):
        if 'img' not in srcs:
            raise ConversionError(f'{zpath}: label {srcs["lab"][1]} has no image; the archive is incomplete')
        if 'lab' not in srcs:
            raise ConversionError(f'{zpath}: image {srcs["img"][1]} has no label; the archive is incomplete '
                                  f'(download it again from {spec.url})')
        items.append((split, name, srcs['img'], srcs['lab']))
    return items


class UDD5(PairSpec):
    name = 'UDD5'
    url = 'https://github.com/MarcWong/UDD'
    classes = ('Vegetation', 'Building', 'Road', 'Vehicle', 'Other')
    palette = {(107, 142, 35): 0, (102, 102, 156): 1, (128, 64, 128): 2, (0, 0, 142): 3, (0, 0, 0): 4}
    expected = dict(train=120, val=40)

    def items(self, raw_dir: str, opts: dict):
        return pair_items(self, osp.join(raw_dir, opts.get('archive') or ARCHIVE))


def _options(parser):
    parser.add_argument('--archive', default=ARCHIVE, help=f'archive name inside RAW_DIR (default {ARCHIVE})')


if __name__ == '__main__':
    main(UDD5(), 'data/udd5', _options)

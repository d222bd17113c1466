"""Convert the official UDD5 release to mmseg layout (OVRSISBench class order).

    python data_converters/udd5.py RAW_DIR -o data/udd5 [--tile 1024] [--nproc 4]

RAW_DIR is ``UDD5.zip`` from https://github.com/MarcWong/UDD, the folder holding it, or its extracted tree
(``.../{train,val}/src/<name>.JPG`` and ``.../{train,val}/gt/<name>.png``; 4096x2160 and 4000x3000 nadir UAV
images). A partial download converts the complete pairs there and warns with the counts (the official names are
not published). Labels are colour-coded with the official UDD5 colour map (Vegetation (107,142,35), Building
(102,102,156), Road (128,64,128), Vehicle (0,0,142), Other (0,0,0)) or already class indices 0..4; both are
accepted. Official counts: 120 train / 40 val images (160). Whole images by default (slide inference, the
OVRSISBench setting); ``--tile`` cuts border-aligned tiles (the bundle's re-tiling is unstated; see the docs).
"""
import os.path as osp
import re
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _pairs import PairSpec, main, pair_items  # noqa: E402

ARCHIVE = 'UDD5.zip'
# roles by folder: src/<name>.JPG is the image, gt/<name>.png its label; visualization/ (colour renderings with
# the same names) and any other folder are never read
IMAGE_RE = re.compile(r'(?:^|/)(train|val|test)/src/([^/]+)\.jpe?g$', re.IGNORECASE)
LABEL_RE = re.compile(r'(?:^|/)(train|val|test)/gt/([^/]+)\.png$', re.IGNORECASE)


class UDD5(PairSpec):
    name = 'UDD5'
    url = 'https://github.com/MarcWong/UDD'
    classes = ('Vegetation', 'Building', 'Road', 'Vehicle', 'Other')
    palette = {(107, 142, 35): 0, (102, 102, 156): 1, (128, 64, 128): 2, (0, 0, 142): 3, (0, 0, 0): 4}
    expected = dict(train=120, val=40)

    def items(self, raw_dir: str, opts: dict):
        return pair_items(self, raw_dir, IMAGE_RE, LABEL_RE, hint=' (<split>/src/<name>.JPG + <split>/gt/<name>.png)')


if __name__ == '__main__':
    main(UDD5(), 'data/udd5')

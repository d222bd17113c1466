"""Convert the official VDD (Varied Drone Dataset) release to mmseg layout (OVRSISBench class order).

    python data_converters/vdd.py RAW_DIR -o data/vdd [--tile 1024] [--nproc 4]

RAW_DIR is ``VDD.zip`` from https://github.com/RussRobin/VDD, the folder holding it, or its extracted tree (
``VDD/{train,val,test}/src/<name>.JPG`` and ``VDD/{train,val,test}/gt/<name>.png``, 4000x3000). Labels are
class-index PNGs 0..6 (other, wall, road, vegetation, vehicle, roof, water); colour-coded labels in the
OVRSISBench palette are accepted too. Official counts: 280 train / 80 val / 40 test (400); a partial download
converts the complete pairs there and warns with the counts. Whole images by
default; ``--tile`` cuts border-aligned tiles (the OVRSISBench bundle's re-tiling is unstated; see the docs).
"""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _pairs import PairSpec, main, pair_items  # noqa: E402
from udd5 import IMAGE_RE, LABEL_RE  # noqa: E402  (the same src/ + gt/ layout)

ARCHIVE = 'VDD.zip'


class VDD(PairSpec):
    name = 'VDD'
    url = 'https://github.com/RussRobin/VDD'
    classes = ('Other', 'Wall', 'Road', 'Vegetation', 'Vehicle', 'Roof', 'Water')
    palette = {(0, 0, 0): 0, (128, 0, 0): 1, (128, 64, 128): 2, (0, 128, 0): 3, (64, 0, 128): 4,
               (192, 192, 128): 5, (0, 0, 128): 6}
    expected = dict(train=280, val=80, test=40)

    def items(self, raw_dir: str, opts: dict):
        return pair_items(self, raw_dir, IMAGE_RE, LABEL_RE, hint=' (VDD/<split>/src/<name>.JPG + '
                          'VDD/<split>/gt/<name>.png)')


if __name__ == '__main__':
    main(VDD(), 'data/vdd')

"""Convert the official DLRSD labels + UC Merced images to mmseg layout (OVRSISBench class order).

    python data_converters/dlrsd.py RAW_DIR -o data/dlrsd [--val-every 5] [--nproc 4]

RAW_DIR holds, as downloaded:
  UCMerced_LandUse.zip  http://weegee.vision.ucmerced.edu/datasets/landuse.html
                        (UCMerced_LandUse/Images/<category>/<category>NN.tif, 21 categories x 100, 256x256)
  DLRSD.zip             https://sites.google.com/view/zhouwx/dataset (dense labels, <category>/<category>NN.png)
Labels are read as colours (palette or RGB PNG) and mapped to the 17 classes in DLRSDDataset order with the
palette of the OVRSISBench code (unknown colours are an error naming the colour, pixel and file); an 8-bit grey
label is taken as class indices minus --gray-offset.

DLRSD has no official split. Default (documented, deterministic): within each category, image numbers with
NN % --val-every == --val-every - 1 go to val (every 5th: 80/20, the ratio of the OVRSISBench bundle's
5,601/1,401), the rest to train: 1,680 train / 420 val. splits/all.txt lists both (the OVRSISBench "all" split).
"""
import os.path as osp
import re
import sys

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _pairs import ConversionError, PairSpec, find_members, main  # noqa: E402

IMAGE_ZIP, LABEL_ZIP = 'UCMerced_LandUse.zip', 'DLRSD.zip'
CATEGORIES = ('agricultural', 'airplane', 'baseballdiamond', 'beach', 'buildings', 'chaparral', 'denseresidential',
              'forest', 'freeway', 'golfcourse', 'harbor', 'intersection', 'mediumresidential', 'mobilehomepark',
              'overpass', 'parkinglot', 'river', 'runway', 'sparseresidential', 'storagetanks', 'tenniscourt')
MEMBER_RE = re.compile(r'(?:^|/)([a-z]+)(\d{2})\.(tif|tiff|png)$', re.IGNORECASE)


class DLRSD(PairSpec):
    name = 'DLRSD'
    url = 'https://sites.google.com/view/zhouwx/dataset (labels) and ' \
          'http://weegee.vision.ucmerced.edu/datasets/landuse.html (images)'
    classes = ('airplane', 'bare soil', 'buildings', 'cars', 'chaparral', 'court', 'dock', 'field', 'grass',
               'mobile home', 'pavement', 'sand', 'sea', 'ship', 'tanks', 'trees', 'water')
    palette = {c: i for i, c in enumerate([
        (166, 202, 240), (128, 128, 0), (0, 0, 128), (255, 0, 0), (0, 128, 0), (128, 0, 0), (255, 233, 233),
        (160, 160, 164), (0, 128, 128), (90, 87, 255), (255, 255, 0), (255, 192, 0), (0, 0, 255), (255, 0, 192),
        (128, 0, 128), (0, 255, 0), (0, 255, 255)])}
    expected = dict(train=1680, val=420)

    def items(self, raw_dir: str, opts: dict):
        every = opts.get('val_every', 5)
        if every < 2:
            raise ConversionError(f'--val-every must be >= 2, got {every}')
        if every != 5:
            self.expected = dict(train=2100 - 21 * (100 // every), val=21 * (100 // every))
        found = {}
        for zname, ext in ((IMAGE_ZIP, ('tif', 'tiff')), (LABEL_ZIP, ('png',))):
            zpath = osp.join(raw_dir, zname)
            for m in find_members(zpath, self, zname):
                mt = MEMBER_RE.search(m)
                if mt and mt.group(1).lower() in CATEGORIES and mt.group(3).lower() in ext:
                    found.setdefault((mt.group(1).lower(), mt.group(2)), {})[zname] = (zpath, m)
        if not any(IMAGE_ZIP in v for v in found.values()):
            raise ConversionError(f'{osp.join(raw_dir, IMAGE_ZIP)} has no <category>NN.tif images: it is not the '
                                  f'official UC Merced archive')
        if not any(LABEL_ZIP in v for v in found.values()):
            raise ConversionError(f'{osp.join(raw_dir, LABEL_ZIP)} has no <category>NN.png labels: it is not the '
                                  f'official DLRSD label archive')
        items = []
        for (cat, num), srcs in sorted(found.items()):
            if IMAGE_ZIP not in srcs:
                raise ConversionError(f'label {srcs[LABEL_ZIP][1]} has no image {cat}{num}.tif in '
                                      f'{osp.join(raw_dir, IMAGE_ZIP)}')
            if LABEL_ZIP not in srcs:
                raise ConversionError(f'image {srcs[IMAGE_ZIP][1]} has no label {cat}{num}.png in '
                                      f'{osp.join(raw_dir, LABEL_ZIP)}')
            split = 'val' if int(num) % every == every - 1 else 'train'
            items.append((split, f'{cat}{num}', srcs[IMAGE_ZIP], srcs[LABEL_ZIP]))
        return items


def _options(parser):
    parser.add_argument('--val-every', type=int, default=5,
                        help='every k-th image number of each category goes to val (default 5: 80/20)')
    parser.add_argument('--gray-offset', type=int, default=0,
                        help='for grey-value labels: class index = value - offset (default 0)')


if __name__ == '__main__':
    main(DLRSD(), 'data/dlrsd', _options)

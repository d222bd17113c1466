"""Convert the official DLRSD labels + UC Merced images to mmseg layout (OVRSISBench class order).

    python data_converters/dlrsd.py RAW_DIR -o data/dlrsd [--val-every 5] [--nproc 4]

RAW_DIR holds both parts, each as the zip archive or its extracted folder:
  UCMerced_LandUse.zip  http://weegee.vision.ucmerced.edu/datasets/landuse.html
                        (UCMerced_LandUse/Images/<category>/<category>NN.tif, 21 categories x 100, 256x256)
  DLRSD.zip             https://sites.google.com/view/zhouwx/dataset (dense labels, <category>/<category>NN.png
                        under a DLRSD/ folder; only .png members are labels, the .tif beside them never are)
A partial download converts the complete pairs there and names the missing ones of the official 2,100 on stderr.
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

from _pairs import ConversionError, PairSpec, main, pair_items  # noqa: E402

IMAGE_ZIP, LABEL_ZIP = 'UCMerced_LandUse.zip', 'DLRSD.zip'
CATEGORIES = ('agricultural', 'airplane', 'baseballdiamond', 'beach', 'buildings', 'chaparral', 'denseresidential',
              'forest', 'freeway', 'golfcourse', 'harbor', 'intersection', 'mediumresidential', 'mobilehomepark',
              'overpass', 'parkinglot', 'river', 'runway', 'sparseresidential', 'storagetanks', 'tenniscourt')
# roles by archive/folder and product: an image and its label share the name <category>NN (other extension);
# a zip member's logical path starts with the archive's name (UCMerced_LandUse/..., DLRSD/...)
IMAGE_RE = re.compile(r'(?:^|/)UCMerced_LandUse/Images/([a-z]+)/(\1\d{2})\.tiff?$')
LABEL_RE = re.compile(r'(?:^|/)DLRSD/(?:[^/]+/)*([a-z]+)/(\1\d{2})\.png$')


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

        def split_of(key):
            name = key.split('/')[1]
            return ('val' if int(name[-2:]) % every == every - 1 else 'train'), name

        official = [f'{c}/{c}{n:02d}' for c in CATEGORIES for n in range(100)]
        return pair_items(self, raw_dir, IMAGE_RE, LABEL_RE, split_of, official,
                          f' ({IMAGE_ZIP}: UCMerced_LandUse/Images/<category>/<category>NN.tif; {LABEL_ZIP}: '
                          '<category>/<category>NN.png under DLRSD/)')


def _options(parser):
    parser.add_argument('--val-every', type=int, default=5,
                        help='every k-th image number of each category goes to val (default 5: 80/20)')
    parser.add_argument('--gray-offset', type=int, default=0,
                        help='for grey-value labels: class index = value - offset (default 0)')


if __name__ == '__main__':
    main(DLRSD(), 'data/dlrsd', _options)

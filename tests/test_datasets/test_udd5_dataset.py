"""UDD5Dataset on data_converters/udd5.py output, through the base config's real mmseg pipeline."""
import os.path as osp
import sys

from conftest import REPO_ROOT, load_fake_data

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import _pairs  # noqa: E402
import udd5  # noqa: E402
from test_dlrsd_dataset import build  # noqa: E402


def test_udd5_dataset(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    load_fake_data('udd5').make_release(str(raw))
    out = str(tmp_path / 'out')
    _pairs.convert(udd5.UDD5(), str(raw), out)
    ds = build('udd5.py', 'test_dataloader', out)
    vocab = open(osp.join(REPO_ROOT, 'configs', 'rskt_seg', 'vocabularies', 'udd5.txt')).read().splitlines()
    assert list(ds.metainfo['classes']) == vocab and len(ds) == 5
    sample = ds[0]
    assert sample['data_samples'].gt_sem_seg.data.shape[-2:] == (30, 40)  # GT keeps the original size
    assert int(sample['data_samples'].gt_sem_seg.data.max()) <= 4

"""VDDDataset on data_converters/vdd.py output, through the base config's real mmseg pipeline."""
import os.path as osp
import sys

from conftest import REPO_ROOT, load_fake_data

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import _pairs  # noqa: E402
import vdd  # noqa: E402
from test_dlrsd_dataset import build  # noqa: E402


def test_vdd_dataset(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    load_fake_data('vdd').make_release(str(raw))
    out = str(tmp_path / 'out')
    _pairs.convert(vdd.VDD(), str(raw), out)
    ds = build('vdd.py', 'test_dataloader', out)
    vocab = open(osp.join(REPO_ROOT, 'configs', 'rskt_seg', 'vocabularies', 'vdd.txt')).read().splitlines()
    assert list(ds.metainfo['classes']) == vocab and len(ds) == 4
    seg = ds[0]['data_samples'].gt_sem_seg.data
    assert set(seg.unique().tolist()) <= set(range(7)) | {255}
    assert len(build('vdd.py', 'val_dataloader', out)) == 1

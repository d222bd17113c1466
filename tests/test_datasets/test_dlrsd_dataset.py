"""DLRSDDataset on data_converters/dlrsd.py output, through the base config's real mmseg pipelines."""
import os.path as osp
import sys

from mmengine.config import Config

from conftest import REPO_ROOT, load_fake_data

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import _pairs  # noqa: E402
import dlrsd  # noqa: E402


def build(cfg_name: str, loader: str, data_root: str):
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules

    import rsseg_ext  # noqa: F401
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', cfg_name))
    ds_cfg = cfg[loader]['dataset']
    ds_cfg['data_root'] = data_root
    return DATASETS.build(ds_cfg)


def test_dlrsd_dataset(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    load_fake_data('dlrsd').make_archives(str(raw))
    out = str(tmp_path / 'out')
    _pairs.convert(dlrsd.DLRSD(), str(raw), out)
    vocab = open(osp.join(REPO_ROOT, 'configs', 'rskt_seg', 'vocabularies', 'dlrsd.txt')).read().splitlines()
    val = build('dlrsd.py', 'val_dataloader', out)
    assert list(val.metainfo['classes']) == vocab and len(val.metainfo['palette']) == 17
    assert len(val) == 4
    every = build('dlrsd.py', 'test_dataloader', out)  # the OVRSISBench "all" split
    assert len(every) == 20
    sample = every[0]
    seg = sample['data_samples'].gt_sem_seg.data
    assert seg.shape[-2:] == (24, 24) and int(seg.max()) <= 16
    train = build('dlrsd.py', 'train_dataloader', out)
    assert train[0]['inputs'].shape[0] == 3 and max(train[0]['inputs'].shape[-2:]) <= 256  # random crop

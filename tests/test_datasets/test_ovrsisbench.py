"""configs/_base_/datasets/ovrsisbench.py: one vocabulary file per test set, aligned with the dataset labels."""
import os.path as osp

from mmengine.config import Config

from conftest import REPO_ROOT

VOCAB = osp.join(REPO_ROOT, 'configs', 'rskt_seg', 'vocabularies')


def _classes(ds_cfg):
    from mmseg.registry import DATASETS
    if ds_cfg['type'] == 'ConcatDataset':
        ds_cfg = ds_cfg['datasets'][0]
    if 'metainfo' in ds_cfg:
        return ds_cfg['metainfo']['classes']
    return DATASETS.get(ds_cfg['type']).METAINFO['classes']


def test_vocabularies_match_datasets():
    from mmseg.utils import register_all_modules

    import rsseg_ext  # noqa: F401
    register_all_modules()
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'ovrsisbench.py'))
    sizes = {}
    for name, ds_cfg in cfg.ovrsis_test_sets.items():
        vocab = open(osp.join(REPO_ROOT, cfg.ovrsis_vocabularies[name])).read().splitlines()
        assert len(vocab) == len(_classes(ds_cfg)), name
        assert all(v.strip() == v and v for v in vocab)
        sizes[name] = len(vocab)
    # the authors' vocabularies (docs/methods/rskt_seg.md): 17, 15, 8, 6, 8, 5, 6, 7 (+ the 7-class LoveDA option)
    assert sizes == dict(dlrsd=17, isaid=15, loveda=8, loveda7=7, potsdam=6, uavid=8, udd5=5, vaihingen=6, vdd=7)
    # new classes carry the OVRSISBench strings themselves
    for name in ('dlrsd', 'udd5', 'vdd'):
        vocab = open(osp.join(VOCAB, f'{name}.txt')).read().splitlines()
        assert list(_classes(cfg.ovrsis_test_sets[name])) == vocab
    assert open(osp.join(VOCAB, 'uavid.txt')).read().splitlines()[-1] == 'Background clutter'  # clutter last


def test_loveda_all_8_classes(tmp_path):
    """LoveDA "all" = train + val with raw label 0 (no-data) kept as a class, through a real pipeline."""
    import sys

    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules

    from conftest import load_fake_data
    import rsseg_ext  # noqa: F401
    sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
    import loveda  # noqa: E402
    register_all_modules()
    raw = tmp_path / 'raw'
    raw.mkdir()
    load_fake_data('loveda').make_archives(str(raw))
    out = str(tmp_path / 'loveDA')
    loveda.convert(str(raw), out)
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'ovrsisbench.py'))
    n_img = sum(len(open(osp.join(out, 'splits', f'{s}.txt')).read().split()) for s in ('train', 'val'))
    for key, n_cls, lo in (('loveda', 8, 0), ('loveda7', 7, 0)):
        ds_cfg = cfg.ovrsis_test_sets[key]
        for d in ds_cfg.datasets:
            d.data_root = out
        ds = DATASETS.build(ds_cfg)
        assert len(ds) == n_img and len(ds.metainfo['classes']) == n_cls
        seg = ds[0]['data_samples'].gt_sem_seg.data
        assert int(seg[seg != 255].max()) < n_cls and int(seg.min()) >= lo


def test_potsdam_all_ovrsis_preset(tmp_path):
    """Potsdam "all": --preset ovrsis (256 tiles, stride 256; scaled down here) on every area, train + val."""
    import sys

    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules

    from conftest import load_fake_data
    import rsseg_ext  # noqa: F401
    sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
    import _isprs  # noqa: E402
    from potsdam import Potsdam  # noqa: E402
    register_all_modules()
    assert _isprs.PRESETS['ovrsis'] == dict(tile=256, train_stride=256, test_stride=256, train_gt='eroded',
                                            test_gt='eroded')
    raw = tmp_path / 'raw'
    raw.mkdir()
    load_fake_data('isprs').make_potsdam(str(raw), ['2_10', '2_13'])
    out = str(tmp_path / 'potsdam')
    counts, _ = _isprs.convert(Potsdam(), str(raw), out, areas=['2_10', '2_13'], preset='ovrsis', tile=16,
                               train_stride=16, test_stride=16)
    assert counts == dict(train=12, val=12)  # 40x56 at 16/16: 3 x 4 border-aligned windows per area
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'ovrsisbench.py'))
    ds_cfg = cfg.ovrsis_test_sets.potsdam
    for d in ds_cfg.datasets:
        d.data_root = out
    ds = DATASETS.build(ds_cfg)
    assert len(ds) == 24 and len(ds.metainfo['classes']) == 6
    seg = ds[0]['data_samples'].gt_sem_seg.data
    assert int(seg[seg != 255].max()) <= 5  # boundary -> 255, classes 0..5 in the vocabulary order

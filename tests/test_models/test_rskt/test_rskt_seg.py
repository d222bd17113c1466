"""RSKTSeg end to end on a tiny random model: free vocabulary size, class-order
equivariance, the per-vocabulary text cache, vocabulary sources, slide inference, optimiser settings."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

import rsseg_ext  # noqa: F401  (registers the modules)
from conftest import REPO_ROOT, one_torch_thread
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from rskt_tiny import tiny_model_cfg

init_default_scope('mmseg')
NAMES = ('building', 'road', 'water', 'tree', 'car')


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """2 shared cores: one intra-op thread is 20x faster here than two contending ones."""
    with one_torch_thread():
        yield


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return MODELS.build(tiny_model_cfg())


def _samples(n=2, size=96, vocabulary=NAMES, num_classes=5):
    out = []
    for _ in range(n):
        meta = dict(img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size))
        if vocabulary is not None:
            meta['vocabulary'] = tuple(vocabulary)
        ds = SegDataSample(metainfo=meta)
        ds.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, size, size)))
        out.append(ds)
    return out


def test_shapes_loss_predict_and_free_vocabulary_size(model):
    x = torch.randn(2, 3, 96, 96)
    model.train()
    assert model._forward(x, _samples()).shape == (2, 5, 24, 24)  # 4x the 6x6 CLIP grid
    losses = model.loss(x, _samples())
    assert torch.isfinite(losses['decode.loss_sem_seg'])
    losses['decode.loss_sem_seg'].backward()
    model.eval()
    with torch.no_grad():
        for t in (5, 3):  # T = 3 without rebuilding anything
            preds = model.predict(x, _samples(vocabulary=NAMES[:t]))
            assert preds[0].seg_logits.data.shape == (t, 96, 96)
            seg = preds[0].pred_sem_seg.data
            assert seg.shape == (1, 96, 96) and seg.min() >= 0 and seg.max() < t
            probs = preds[0].seg_logits.data
            assert probs.min() >= 0 and probs.max() <= 1  # sigmoid probabilities


def test_class_permutation_equivariance(model):
    model.eval()
    x = torch.randn(1, 3, 96, 96)
    perm = [3, 0, 4, 1, 2]
    with torch.no_grad():
        a = model.encode_decode(x, [dict(_samples(1)[0].metainfo)])
        b = model.encode_decode(x, [dict(_samples(1, vocabulary=[NAMES[i] for i in perm])[0].metainfo)])
    torch.testing.assert_close(b, a[:, perm], atol=1e-5, rtol=1e-5)


def test_text_cache(model, monkeypatch):
    clip = model.backbone.clip
    calls = []
    orig = clip.encode_text
    monkeypatch.setattr(clip, 'encode_text', lambda tok: calls.append(len(tok)) or orig(tok))
    model.eval()
    e1 = model.get_text_embeddings(NAMES)
    e2 = model.get_text_embeddings(NAMES)
    assert e1 is e2 and calls == [5] and not e1.requires_grad  # cached: one encode_text call
    e3 = model.get_text_embeddings(NAMES[:3])  # another vocabulary: recomputed, not the stale one
    assert calls == [5, 3] and e3.shape == (3, 1, 32)
    torch.testing.assert_close(e3, e1[:3])
    model.train()  # weights may change now: the cache is gone, embeddings carry gradients, nothing is cached
    assert not model.backbone.text_encoder._cache
    e4 = model.get_text_embeddings(NAMES)
    assert e4.requires_grad and calls == [5, 3, 5] and not model.backbone.text_encoder._cache
    model.eval()
    syn = model.get_text_embeddings(['building, house', 'road'])  # first synonym of "a, b"
    torch.testing.assert_close(syn, model.get_text_embeddings(['building', 'road']))
    # the prompt is the single RSKT template
    assert model.backbone.text_encoder.prompts(['road']) == ('A photo of a road in the scene', )


def test_vocabulary_sources(model, tmp_path):
    model.eval()
    metas = [dict(s.metainfo) for s in _samples(2)]
    assert model.resolve_vocabulary(metas) == NAMES
    metas[1]['vocabulary'] = ('a', 'b')
    with pytest.raises(ValueError, match='share one vocabulary'):
        model.resolve_vocabulary(metas)
    bare = [dict(img_shape=(96, 96))]
    with pytest.raises(ValueError, match='set_vocabulary'):
        model.resolve_vocabulary(bare, 'test')
    # a dataset's classes (VocabularyHook) < config vocabulary file < set_vocabulary < sample meta
    model.set_dataset_vocabulary(['x', 'y', 'z'], 'test')
    assert model.resolve_vocabulary(bare, 'test') == ('x', 'y', 'z')
    vocab = tmp_path / 'vocab.txt'
    vocab.write_text('# comment\nImpervious surfaces\n\nLow vegetation\nCar\n')
    model._vocab_cfg['test'] = str(vocab)
    assert model.resolve_vocabulary(bare, 'test') == ('Impervious surfaces', 'Low vegetation', 'Car')
    model.set_vocabulary(['p', 'q'])
    assert model.resolve_vocabulary(bare, 'test') == ('p', 'q') and model.dataset_meta['classes'] == ('p', 'q')
    assert model.resolve_vocabulary([dict(vocabulary=('m', 'n'))], 'test') == ('m', 'n')
    model.set_vocabulary(None)
    model._vocab_cfg['test'] = None
    model._dataset_vocabulary.clear()
    model._vocab_loaded.clear()
    with torch.no_grad(), pytest.raises(ValueError, match='at least 2'):
        model.encode_decode(torch.randn(1, 3, 96, 96), [dict(img_shape=(96, 96), vocabulary=('road', ))])


def test_vocabulary_meta_key_survives_pack_seg_inputs():
    from mmseg.datasets.transforms import PackSegInputs
    pack = PackSegInputs(meta_keys=('img_path', 'ori_shape', 'img_shape', 'pad_shape', 'vocabulary'))
    out = pack(dict(img=np.zeros((8, 8, 3), np.uint8), gt_seg_map=np.zeros((8, 8), np.uint8), img_path='a.png',
                    ori_shape=(8, 8), img_shape=(8, 8), pad_shape=(8, 8), vocabulary=('road', 'water')))
    assert out['data_samples'].metainfo['vocabulary'] == ('road', 'water')


def test_slide_inference_with_other_vocabulary_size(model):
    model.eval()
    model.test_cfg = type(model.test_cfg)(dict(mode='slide', crop_size=(64, 64), stride=(48, 48), batch_windows=2))
    try:
        with torch.no_grad():
            preds = model.predict(torch.randn(1, 3, 112, 96), _samples(1, vocabulary=NAMES[:3]))
        assert preds[0].seg_logits.data.shape[0] == 3 and model.decode_head.num_classes == 5
    finally:
        model.test_cfg = type(model.test_cfg)(dict(mode='whole'))


def test_optimizer_settings_from_schedule(model):
    sched = Config.fromfile(osp.join(REPO_ROOT, 'configs/_base_/schedules/rskt_adamw_cosine_30k.py'))
    wrapper = build_optim_wrapper(model, sched.optim_wrapper)
    names = {id(p): n for n, p in model.named_parameters()}
    seen = set()
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            n = names[id(p)]
            if n.endswith(('q_proj_weight', 'v_proj_weight')):
                assert group['lr'] == pytest.approx(2e-6) and group['weight_decay'] == pytest.approx(1e-4), n
                seen.add('qv')
            elif 'norm' in n.split('.')[-2] and n.endswith('weight') and n.startswith('neck'):
                assert group['weight_decay'] == 0.0 and group['lr'] == pytest.approx(2e-4), n
                seen.add('norm')
    assert seen == {'qv', 'norm'}
    assert all(not p.requires_grad for n, p in model.named_parameters() if n.startswith(('dino', 'remote_clip')))
    model.train()
    loss = model.loss(torch.randn(2, 3, 96, 96), _samples())['decode.loss_sem_seg']
    wrapper.update_params(loss)  # clip_grad max_norm 0.01 is active
    assert wrapper.clip_grad_kwargs['max_norm'] == 0.01


def test_explicit_vocabulary_wins_without_reading_the_configured_file(tmp_path, monkeypatch):
    """set_vocabulary() answers before a configured vocabulary file is even opened (it used to be read first, so a
    relative path raised FileNotFoundError outside the repository); without it the error names the file."""
    model = MODELS.build(tiny_model_cfg(train_vocabulary='configs/rskt_seg/vocabularies/missing.txt',
                                        test_vocabulary='no/such/dir/vocab.txt'))
    monkeypatch.chdir(tmp_path)  # outside the repository
    model.set_vocabulary(['p', 'q'])
    bare = [dict(img_shape=(96, 96))]
    assert model.resolve_vocabulary(bare, 'test') == ('p', 'q')
    assert model.resolve_vocabulary(bare, 'train') == ('p', 'q')
    model.set_vocabulary(None)
    with pytest.raises(FileNotFoundError, match='no/such/dir/vocab.txt'):
        model.resolve_vocabulary(bare, 'test')


def test_config_vocabularies_resolve_outside_the_repository(tmp_path, monkeypatch):
    """The shipped configs give vocabulary paths next to the config file ({{fileDirname}}); a relative path of the
    shipped layout also resolves against the checkout; a missing file names both places tried."""
    from rsseg_ext.models.text import load_vocabulary
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'rskt_seg', 'rskt-seg_vit-l14_isaid.py'))
    assert osp.isabs(cfg.model.test_vocabulary)
    assert load_vocabulary(cfg.model.test_vocabulary) == load_vocabulary(cfg.model.train_vocabulary)
    assert 'storage tank' in load_vocabulary(cfg.model.test_vocabulary)
    bench = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'rskt_seg', 'ovrsisbench_test.py'))
    for name, path in bench.ovrsis_vocabularies.items():
        assert len(load_vocabulary(path)) >= 2, name
    dlrsd = load_vocabulary('configs/rskt_seg/vocabularies/dlrsd.txt')  # relative: under the checkout
    assert dlrsd == load_vocabulary(osp.join(REPO_ROOT, 'configs', 'rskt_seg', 'vocabularies', 'dlrsd.txt'))
    with pytest.raises(FileNotFoundError, match='tried .*nope.txt and .*nope.txt'):
        load_vocabulary('nope.txt')

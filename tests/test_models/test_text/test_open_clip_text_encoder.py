"""OpenCLIPTextEncoder: offline tokenizer, local weights, per-vocabulary cache that never goes stale."""
import os

import open_clip
import pytest
import torch
import torch.nn.functional as F

from rsseg_ext.models.text import OpenCLIPTextEncoder
from rsseg_ext.models.utils import WeightsNotFoundError

os.environ.setdefault('HF_HUB_OFFLINE', '1')

TINY = dict(embed_dim=32, vision_cfg=dict(layers=1, width=32, patch_size=8, image_size=32, head_width=16),
            text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=1))


def _enc(**kw):
    kw.setdefault('allow_random_init', True)
    return OpenCLIPTextEncoder(model_cfg=TINY, **kw)


def test_shapes_normalised_and_matches_open_clip():
    torch.manual_seed(0)
    enc = _enc(templates=('{}', 'a satellite image of {}.'))
    names = ['building', 'road', 'water']
    e = enc.encode(names)
    assert e.shape == (3, 2, 32) and torch.allclose(e.norm(dim=-1), torch.ones(3, 2), atol=1e-5)
    ref = enc.clip.encode_text(open_clip.tokenize(['road', 'a satellite image of road.']))
    assert torch.allclose(e[1], F.normalize(ref, dim=-1), atol=1e-5)
    f = enc(names)  # templates averaged, re-normalised
    assert f.shape == (3, 32)
    assert torch.allclose(f, F.normalize(e.mean(1), dim=-1), atol=1e-6)
    assert enc.embed_dim == 32 and enc.clip.visual is None


def test_class_prompts_and_case_insensitive_tokenizer():
    enc = _enc(class_prompts={'barren': 'barren land'})
    assert enc.prompts(['barren', 'road']) == ('barren land', 'road')
    assert torch.allclose(enc(['Building']), enc(['building']))


def test_cache_keys_on_vocabulary_and_clears_on_load_state_dict():
    enc = _enc()
    a = enc(['building', 'road'])
    assert enc.encode(['building', 'road']) is enc.encode(['building', 'road'])  # cached (frozen)
    assert len(enc._cache) == 1
    b = enc(['road', 'building'])  # a new vocabulary is a new entry, not the stale one
    assert torch.allclose(b, a.flip(0)) and len(enc._cache) == 2
    other = _enc()
    enc.load_state_dict(other.state_dict())  # e.g. load_from after the cache was filled
    assert len(enc._cache) == 0
    assert torch.allclose(enc(['building', 'road']), other(['building', 'road']), atol=1e-6)
    assert not torch.allclose(enc(['building', 'road']), a)


def test_trainable_tower_gets_gradients_and_never_serves_training_cache():
    enc = _enc(freeze=False).train()
    e = enc(['building', 'road'])
    assert e.requires_grad and not enc._cache
    e.sum().backward()
    assert enc.clip.token_embedding.weight.grad is not None
    enc.eval()
    c = enc(['building', 'road'])
    assert not c.requires_grad and len(enc._cache) == 1
    enc.train()  # weights will change: the eval cache is dropped
    assert not enc._cache


def test_frozen_tower_stays_in_eval_mode():
    enc = _enc(freeze=True)
    enc.train()
    assert not enc.clip.training and not any(p.requires_grad for p in enc.parameters())


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match='checkpoint=<local CLIP weights file>.*RemoteCLIP'):
        OpenCLIPTextEncoder(model_cfg=TINY)
    enc = OpenCLIPTextEncoder(model_cfg=TINY, checkpoint=str(tmp_path / 'RemoteCLIP-ViT-B-32.pt'))
    with pytest.raises(WeightsNotFoundError, match='RemoteCLIP-ViT-B-32.pt'):
        enc.init_weights()


def test_init_weights_loads_an_open_clip_checkpoint(tmp_path):
    torch.manual_seed(1)
    src = open_clip.model.CLIP(**TINY)
    path = tmp_path / 'clip.pt'
    torch.save({'module.' + k: v for k, v in src.state_dict().items()}, path)  # DDP-saved, visual included
    enc = OpenCLIPTextEncoder(model_cfg=TINY, checkpoint=str(path))
    before = enc(['road'])
    enc.init_weights()
    ref = F.normalize(src.encode_text(open_clip.tokenize(['road'])), dim=-1)
    assert torch.allclose(enc(['road']), ref, atol=1e-5) and not torch.allclose(before, ref)


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    wide = dict(TINY, text_cfg=dict(TINY['text_cfg'], width=64, heads=4))
    path = tmp_path / 'wide.pt'
    torch.save(open_clip.model.CLIP(**wide).state_dict(), path)
    enc = OpenCLIPTextEncoder(model_cfg=TINY, checkpoint=str(path))
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    with pytest.raises(RuntimeError, match='(?s)does not fit.*shape mismatch.*token_embedding'):
        enc.init_weights()
    assert all(torch.equal(before[k], v) for k, v in enc.state_dict().items())  # nothing half-loaded


def test_named_architecture_builds_offline_and_refuses_hf_text_towers():
    with pytest.raises(KeyError, match='Unknown open_clip architecture'):
        OpenCLIPTextEncoder(model_name='ViT-Q-99', allow_random_init=True)
    hf = [m for m in open_clip.list_models()
          if (open_clip.get_model_config(m) or {}).get('text_cfg', {}).get('hf_tokenizer_name')]
    if hf:
        with pytest.raises(ValueError, match='Hugging Face'):
            OpenCLIPTextEncoder(model_name=hf[0], allow_random_init=True)
    tok = open_clip.get_tokenizer('ViT-B-32')  # bundled BPE vocabulary: no network
    assert tok(['building'])[0, :3].tolist() == [49406, 2307, 49407]


def test_keep_visual_shares_one_open_clip_model():
    enc = _enc(keep_visual=True)
    assert enc.clip.visual is not None
    assert enc.clip.encode_image(torch.rand(1, 3, 32, 32)).shape == (1, 32)

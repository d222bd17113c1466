"""The checkpoint-loading policy: weights_only first; unpickling only for recorded or explicitly trusted files."""
import os.path as osp

import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

import rsseg_ext  # noqa: F401
from rsseg_ext.engine import (UntrustedCheckpointError, is_trusted, load_checkpoint_file, record_checkpoint,
                              trust_checkpoint)
from rsseg_ext.engine.checkpoint import MANIFEST_NAME


def _full_ckpt(path):
    # like a Runner checkpoint: a pickled mmengine object that weights_only=True rejects
    torch.save(dict(state_dict=dict(w=torch.ones(2)), message_hub=HistoryBuffer([1.0], [1])), path)


def test_published_checkpoint_loads_weights_only(tmp_path):
    path = str(tmp_path / 'published.pth')
    torch.save(dict(state_dict=dict(w=torch.arange(3.)), meta=dict(classes=['a', 'b'])), path)
    ckpt = load_checkpoint_file(path)
    assert torch.equal(ckpt['state_dict']['w'], torch.arange(3.))
    assert not osp.exists(tmp_path / MANIFEST_NAME)


def test_import_installs_loader_for_local_paths(tmp_path):
    assert CheckpointLoader._get_checkpoint_loader('/some/file.pth') is load_checkpoint_file
    path = str(tmp_path / 'full.pth')
    _full_ckpt(path)
    with pytest.raises(UntrustedCheckpointError, match='Refusing to unpickle'):
        _load_checkpoint(path, map_location='cpu')  # what load_from / resume / init_model call


def test_recorded_checkpoint_is_trusted_until_changed(tmp_path):
    path = str(tmp_path / 'iter_1.pth')
    _full_ckpt(path)
    assert not is_trusted(path)
    record_checkpoint(path)
    assert is_trusted(path)
    assert isinstance(load_checkpoint_file(path)['message_hub'], HistoryBuffer)
    _full_ckpt(path)  # rewritten with the same content type but a new file: re-hash decides
    with open(path, 'ab') as f:
        f.write(b'tampered')
    assert not is_trusted(path)
    with pytest.raises(UntrustedCheckpointError):
        load_checkpoint_file(path)


def test_explicit_trust(tmp_path):
    path = str(tmp_path / 'other.pth')
    _full_ckpt(path)
    with pytest.raises(UntrustedCheckpointError, match='--trust-checkpoint'):
        load_checkpoint_file(path)
    trust_checkpoint(path)
    assert load_checkpoint_file(path)['state_dict']['w'].sum() == 2


def test_missing_file_message(tmp_path):
    with pytest.raises(FileNotFoundError, match='can not be found'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))


def test_trust_config_checkpoints_covers_pretrained_backbones(tmp_path):
    from mmengine.config import Config

    from rsseg_ext.engine import trust_config_checkpoints
    backbone = str(tmp_path / 'backbone.pth')
    _full_ckpt(backbone)
    cfg = Config(dict(model=dict(backbone=dict(init_cfg=dict(type='LocalPretrained', checkpoint=backbone)),
                                 decode_head=dict(init_cfg=[dict(type='Normal', std=0.01)])),
                      load_from=None))
    with pytest.raises(UntrustedCheckpointError):
        load_checkpoint_file(backbone)
    assert trust_config_checkpoints(cfg) == [backbone]
    assert load_checkpoint_file(backbone)['state_dict']['w'].sum() == 2

"""The shared local-weights helpers: clear errors, container unwrapping, key mapping, load reports."""
import pytest
import torch
import torch.nn as nn

from rsseg_ext.models.utils import (LoadReport, WeightsNotFoundError, load_local_state_dict, load_weights,
                                    require_local_file)
from rsseg_ext.models.utils.weight_loading import map_keys


def _net():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))


def test_missing_file_error_names_path_source_and_key(tmp_path):
    path = tmp_path / 'ckpts' / 'RemoteCLIP-ViT-B-32.pt'
    with pytest.raises(WeightsNotFoundError) as e:
        require_local_file(str(path), 'RemoteCLIP checkpoint', source='https://hf.co/chendelong/RemoteCLIP',
                           config_key='model.text_encoder.checkpoint')
    msg = str(e.value)
    assert str(path) in msg and 'hf.co/chendelong/RemoteCLIP' in msg and 'model.text_encoder.checkpoint' in msg
    assert 'never downloads' in msg


@pytest.mark.parametrize('bad', ['https://x.org/w.pth', 'hf-hub:timm/vit'])
def test_urls_and_hub_names_are_refused(bad):
    with pytest.raises(ValueError, match='local file'):
        require_local_file(bad)


def test_local_pretrained_init_uses_the_same_error(tmp_path):
    from rsseg_ext.models.utils import LocalPretrainedInit
    init = LocalPretrainedInit(checkpoint=str(tmp_path / 'nope.pth'), source='the ConvNeXt release page')
    with pytest.raises(FileNotFoundError, match='nope.pth.*\n.*ConvNeXt release page'):
        init(_net())


@pytest.mark.parametrize('wrap', ['plain', 'state_dict', 'model', 'ddp', 'safetensors', 'torchscript'])
def test_load_local_state_dict_formats(tmp_path, wrap):
    net = _net()
    sd = net.state_dict()
    path = tmp_path / 'w.pth'
    if wrap == 'plain':
        torch.save(sd, path)
    elif wrap in ('state_dict', 'model'):
        torch.save({wrap: sd, 'meta': {'epoch': 3}}, path)
    elif wrap == 'ddp':
        torch.save({'module.' + k: v for k, v in sd.items()}, path)
    elif wrap == 'safetensors':
        from safetensors.torch import save_file
        path = tmp_path / 'w.safetensors'
        save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    else:
        torch.jit.save(torch.jit.script(net), str(path))
    out = load_local_state_dict(str(path))
    assert set(out) == set(sd)
    for k in sd:
        assert torch.equal(out[k], sd[k])


def test_corrupt_file_names_the_file(tmp_path):
    path = tmp_path / 'half.pth'
    path.write_bytes(b'<html>not a checkpoint</html>')
    with pytest.raises(RuntimeError, match='half.pth is an HTML/XML page .*download or copy it again'):
        load_local_state_dict(str(path))


def test_map_keys_prefix_dict_and_function():
    sd = {'backbone.a.w': 1, 'backbone.b.w': 2, 'head.c': 3}
    assert map_keys(sd, prefix='backbone.') == {'a.w': 1, 'b.w': 2}
    assert map_keys(sd, key_map={'backbone.a.': 'x.', 'head.c': 'h'}) == {'x.w': 1, 'backbone.b.w': 2, 'h': 3}
    assert map_keys(sd, key_map=lambda k: None if k.startswith('head') else k.upper()) == {
        'BACKBONE.A.W': 1, 'BACKBONE.B.W': 2}


def test_load_weights_reports_and_keeps_going_on_mismatch():
    src, dst = _net(), _net()
    sd = dict(src.state_dict())
    sd['2.weight'] = torch.zeros(5, 4, 1, 1)  # wrong shape
    sd['extra.bias'] = torch.zeros(1)
    del sd['1.running_var']
    before = dst[2].weight.detach().clone()
    report = load_weights(dst, sd)
    assert isinstance(report, LoadReport) and not report.ok
    assert report.unexpected == ['extra.bias']
    assert report.missing == ['1.running_var']
    assert report.mismatched == ['2.weight: (5, 4, 1, 1) vs (2, 4, 1, 1)']
    assert torch.equal(dst[0].weight, src[0].weight)  # the good tensors were loaded
    assert torch.equal(dst[2].weight, before)  # the bad one was left alone
    assert 'missing in the file (1)' in report.summary()


def test_load_weights_strict_changes_nothing_on_failure():
    src, dst = _net(), _net()
    sd = dict(src.state_dict())
    del sd['0.bias']
    before = {k: v.clone() for k, v in dst.state_dict().items()}
    with pytest.raises(RuntimeError, match='0.bias'):
        load_weights(dst, sd, strict=True, what='test weights')
    assert all(torch.equal(before[k], v) for k, v in dst.state_dict().items())
    assert load_weights(dst, sd, strict=True, ignore_missing=lambda k: k == '0.bias').ok

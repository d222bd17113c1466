"""tools/model_converters/*: released / pretrained key layouts -> our modules, with unmatched-key reports.

Every source state dict is built with random values from its public key layout (names + shapes written out below);
where the source module can be built here (torchvision, timm, open_clip, DINO's layout = our DINOViTEncoder) the
converted model is checked to compute the same function.
"""
import argparse
import importlib.util
import os
import os.path as osp
import stat
import subprocess
import sys
from typing import Dict, List, Sequence

import pytest
import torch
import torch.nn.functional as F

from conftest import REPO_ROOT, file_size_limit, process_umask, tool_env

TOOLS = osp.join(REPO_ROOT, 'tools', 'model_converters')
_LOADED = {}


def tool(name: str):
    """Import tools/model_converters/<name>.py (tools/ is not a package)."""
    if name not in _LOADED:
        spec = importlib.util.spec_from_file_location(f'_conv_{name}', osp.join(TOOLS, f'{name}.py'))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _LOADED[name] = mod
    return _LOADED[name]


def rand_sd(schema: Dict[str, Sequence[int]], seed: int = 0) -> Dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, shape in schema.items():
        if k.endswith('num_batches_tracked'):
            out[k] = torch.tensor(7)
        elif k.endswith('running_var'):
            out[k] = torch.rand(shape, generator=g) + 0.5
        else:
            out[k] = torch.randn(shape, generator=g) * 0.2
    return out


def load_converted(path: str) -> Dict[str, torch.Tensor]:
    ckpt = torch.load(path, map_location='cpu', weights_only=True)  # published-checkpoint form
    assert set(ckpt) == {'state_dict', 'meta'} and isinstance(ckpt['meta'], dict)
    return ckpt['state_dict']


# ---------------------------------------------------------------- public key layouts (names and shapes)
CH, DEPTHS = (8, 16, 32, 64), (1, 2, 1, 1)


def tv_convnext_schema(prefix: str = 'features.', ch=CH, depths=DEPTHS, classes: int = 0) -> Dict[str, tuple]:
    """torchvision ConvNeXt: features.{0 stem, 2s+1 blocks, 2s downsample}, classifier.{0 LN2d, 2 Linear}."""
    s = {f'{prefix}0.0.weight': (ch[0], 3, 4, 4), f'{prefix}0.0.bias': (ch[0], ),
         f'{prefix}0.1.weight': (ch[0], ), f'{prefix}0.1.bias': (ch[0], )}
    for i, (c, d) in enumerate(zip(ch, depths)):
        if i:
            s.update({f'{prefix}{2 * i}.0.weight': (ch[i - 1], ), f'{prefix}{2 * i}.0.bias': (ch[i - 1], ),
                      f'{prefix}{2 * i}.1.weight': (c, ch[i - 1], 2, 2), f'{prefix}{2 * i}.1.bias': (c, )})
        for j in range(d):
            b = f'{prefix}{2 * i + 1}.{j}.'
            s.update({b + 'layer_scale': (c, 1, 1), b + 'block.0.weight': (c, 1, 7, 7), b + 'block.0.bias': (c, ),
                      b + 'block.2.weight': (c, ), b + 'block.2.bias': (c, ), b + 'block.3.weight': (4 * c, c),
                      b + 'block.3.bias': (4 * c, ), b + 'block.5.weight': (c, 4 * c), b + 'block.5.bias': (c, )})
    if classes:
        s.update({'classifier.0.weight': (ch[-1], ), 'classifier.0.bias': (ch[-1], ),
                  'classifier.2.weight': (classes, ch[-1]), 'classifier.2.bias': (classes, )})
    return s


def timm_convnext_schema(ch=CH, depths=DEPTHS, classes: int = 5) -> Dict[str, tuple]:
    """timm ConvNeXt: stem.{0,1}, stages.s.downsample.{0,1}, stages.s.blocks.j.{conv_dw,norm,mlp.fc1,mlp.fc2,gamma}."""
    s = {'stem.0.weight': (ch[0], 3, 4, 4), 'stem.0.bias': (ch[0], ), 'stem.1.weight': (ch[0], ),
         'stem.1.bias': (ch[0], ), 'head.norm.weight': (ch[-1], ), 'head.norm.bias': (ch[-1], ),
         'head.fc.weight': (classes, ch[-1]), 'head.fc.bias': (classes, )}
    for i, (c, d) in enumerate(zip(ch, depths)):
        if i:
            s.update({f'stages.{i}.downsample.0.weight': (ch[i - 1], ), f'stages.{i}.downsample.0.bias': (ch[i - 1], ),
                      f'stages.{i}.downsample.1.weight': (c, ch[i - 1], 2, 2), f'stages.{i}.downsample.1.bias': (c, )})
        for j in range(d):
            b = f'stages.{i}.blocks.{j}.'
            s.update({b + 'gamma': (c, ), b + 'conv_dw.weight': (c, 1, 7, 7), b + 'conv_dw.bias': (c, ),
                      b + 'norm.weight': (c, ), b + 'norm.bias': (c, ), b + 'mlp.fc1.weight': (4 * c, c),
                      b + 'mlp.fc1.bias': (4 * c, ), b + 'mlp.fc2.weight': (c, 4 * c), b + 'mlp.fc2.bias': (c, )})
    return s


def _lin(s, name, o, i, bias=True):
    s[name + '.weight'] = (o, i)
    if bias:
        s[name + '.bias'] = (o, )


def d2ls_release_schema(c: int, n: int, r: int, stages: int, ch=CH) -> Dict[str, tuple]:
    """DynamicDictionaryLearning under Lightning's net. (names of network/models/d2ls.py, shapes of paper Sec. 3.2)."""
    s = tv_convnext_schema('net.backbone.0.', ch)
    for i, ci in enumerate(ch):
        _lin(s, f'net.linear_c.{i}.proj', c, ci)
    s['net.aggregator.weight'] = (c, 4 * c, 1, 1)
    s['net.pe_layer.positional_encoding_gaussian_matrix'] = (2, c // 2)
    d = 'net.decoder.'
    s[d + 'token.basic_queries.weight'] = (n, c)
    _lin(s, d + 'token.token_mlp', r * c, c)
    _lin(s, d + 'feature_modulator.mlp1.proj', c, ch[-1])
    for br in ('gmp_branch', 'gap_branch'):
        s[f'{d}feature_modulator.{br}.1.weight'] = (c // 2, c // 2, 1, 1)
        s[f'{d}feature_modulator.{br}.1.bias'] = (c // 2, )
    _lin(s, d + 'feature_modulator.mlp2.0', 2 * c, c)
    _lin(s, d + 'feature_modulator.mlp2.2', n * r, 2 * c)

    def attn(prefix, inner):
        for x in ('q_proj', 'k_proj', 'v_proj'):
            _lin(s, f'{prefix}.{x}', inner, c)
        _lin(s, f'{prefix}.out_proj', c, inner)

    for l in range(stages):
        b = f'{d}interactor.layers.{l}.'
        attn(b + 'self_attn', c)  # built, never run
        attn(b + 'cross_attn_token_to_image', c // 2)
        attn(b + 'cross_attn_image_to_token', c // 2)
        for nm in ('norm1', 'norm2', 'norm3', 'norm4'):
            s[f'{b}{nm}.weight'] = s[f'{b}{nm}.bias'] = (c, )
        _lin(s, b + 'mlp.lin1', 2048, c)
        _lin(s, b + 'mlp.lin2', c, 2048)
    attn(d + 'interactor.final_attn_token_to_image', c // 2)
    s[d + 'interactor.norm_final_attn.weight'] = s[d + 'interactor.norm_final_attn.bias'] = (c, )
    s[d + 'upsampler.1.weight'] = s[d + 'upsampler.1.bias'] = (c // 4, )
    _lin(s, d + 'output_hypernetwork_mlps.layers.0', c, c)
    _lin(s, d + 'output_hypernetwork_mlps.layers.1', c, c)
    _lin(s, d + 'output_hypernetwork_mlps.layers.2', c // 16, c)
    return s


def _bn(s, name, c):
    for k in ('weight', 'bias', 'running_mean', 'running_var'):
        s[f'{name}.{k}'] = (c, )
    s[f'{name}.num_batches_tracked'] = ()


def tv_resnet50_schema(prefix: str, base: int) -> Dict[str, tuple]:
    """torchvision ResNet-50 (Bottleneck, 3-4-6-3) with ``base`` stem/planes width (64 in the real one)."""
    s = {f'{prefix}conv1.weight': (base, 3, 7, 7)}
    _bn(s, f'{prefix}bn1', base)
    inp = base
    for i, blocks in enumerate((3, 4, 6, 3)):
        planes = base * 2**i
        for j in range(blocks):
            b = f'{prefix}layer{i + 1}.{j}.'
            s[b + 'conv1.weight'] = (planes, inp, 1, 1)
            s[b + 'conv2.weight'] = (planes, planes, 3, 3)
            s[b + 'conv3.weight'] = (4 * planes, planes, 1, 1)
            for k, cc in (('bn1', planes), ('bn2', planes), ('bn3', 4 * planes)):
                _bn(s, b + k, cc)
            if j == 0:
                s[b + 'downsample.0.weight'] = (4 * planes, inp, 1, 1)
                _bn(s, b + 'downsample.1', 4 * planes)
            inp = 4 * planes
    return s


def logcanplus_release_schema(base: int, t: int, k: int, heads: int) -> Dict[str, tuple]:
    """rssegmentation myModel (net.backbone / net.seghead LoGCANPlus_Head / net.classifier)."""
    s = tv_resnet50_schema('net.backbone.', base)
    ins = [4 * base * 2**i for i in range(4)]
    h = 'net.seghead.'

    def cbr(name, i, o):
        s[f'{name}.0.weight'] = (o, i, 3, 3)
        _bn(s, f'{name}.1', o)

    for i, ci in enumerate(ins):
        cbr(f'{h}bottleneck{i + 1}', ci, t)
    s[h + 'decoder_stage1.weight'], s[h + 'decoder_stage1.bias'] = (k, t, 1, 1), (k, )
    for i in range(1, 5):
        c = f'{h}center{i}.'
        s[c + 'feat_decoder.weight'], s[c + 'feat_decoder.bias'] = (k, t, 1, 1), (k, )
        for nm, o in (('offsets', 2), ('scales', 2), ('angles', 1)):
            s[f'{c}sampling_{nm}.2.weight'], s[f'{c}sampling_{nm}.2.bias'] = (heads * o, t, 1, 1), (heads * o, )
        for nm in ('q', 'k', 'v', 'out_project'):
            _lin(s, c + nm, t, t)
        cbr(c + 'cat_conv.0', 2 * t, t)
        cbr(c + 'cat_conv.2', t, t)
    for i in (1, 2, 3):
        cbr(f'{h}catconv{i}', 2 * t, t)
    cbr(h + 'catconv', t, t)
    s['net.classifier.classifier.weight'], s['net.classifier.classifier.bias'] = (k, t, 1, 1), (k, )
    return s


# ---------------------------------------------------------------- helpers for the targets
def build(cfg: dict):
    from mmengine.registry import DefaultScope

    from mmseg.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(cfg)


def mm_convnext(no_out_norm: bool = True, **kw):
    from mmpretrain.models.backbones import ConvNeXt

    from rsseg_ext.models.backbones import ConvNeXtNoOutNorm
    cls = ConvNeXtNoOutNorm if no_out_norm else ConvNeXt
    kw.setdefault('out_indices', (0, 1, 2, 3))
    kw.setdefault('gap_before_final_norm', False)
    m = cls(arch=dict(depths=list(DEPTHS), channels=list(CH)), **kw)
    m.eval()  # mmpretrain's ConvNeXt.train() returns None: no chaining
    return m


def strip(sd: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}


def tv_convnext_module(sd_features: dict):
    """A real torchvision ConvNeXt (tiny) holding ``sd_features``; skips when torchvision does not import."""
    tvc = pytest.importorskip('torchvision.models.convnext')
    cfgs = [tvc.CNBlockConfig(c, CH[i + 1] if i < 3 else None, d) for i, (c, d) in enumerate(zip(CH, DEPTHS))]
    m = tvc.ConvNeXt(cfgs, stochastic_depth_prob=0.0, num_classes=5).eval()
    missing, unexpected = m.features.load_state_dict(sd_features, strict=True), None
    return m


def tv_stage_outputs(tv_model, x) -> List[torch.Tensor]:
    outs, h = [], []
    for i in (1, 3, 5, 7):
        h.append(tv_model.features[i].register_forward_hook(lambda m, a, o: outs.append(o)))
    with torch.no_grad():
        tv_model.features(x)
    for hh in h:
        hh.remove()
    return outs


def write(sd, path) -> str:
    torch.save(sd, str(path))
    return str(path)


# ---------------------------------------------------------------- ConvNeXt
def test_convnext_torchvision_keys_and_same_function(tmp_path):
    schema = tv_convnext_schema(classes=5)
    sd = rand_sd(schema)
    dst = str(tmp_path / 'cnx.pth')
    assert tool('convnext2mmpretrain').main([write(sd, tmp_path / 'tv.pth'), dst]) == 0
    out = load_converted(dst)
    assert set(strip(out, 'head.fc.')) == {'weight', 'bias'}
    bb = strip(out, 'backbone.')
    # zero unmatched: every backbone key of the output-norm-free ConvNeXt is set, nothing unexpected
    plain = mm_convnext()
    assert set(bb) - {'norm3.weight', 'norm3.bias'} == set(plain.state_dict())
    plain.load_state_dict({k: v for k, v in bb.items() if not k.startswith('norm3')}, strict=True)
    x = torch.randn(2, 3, 64, 64)
    tv = tv_convnext_module(strip(sd, 'features.'))  # the schema above IS torchvision's layout (strict load)
    tv.classifier.load_state_dict(strip(sd, 'classifier.'))
    with torch.no_grad():
        ours = plain(x)
        for a, b in zip(ours, tv_stage_outputs(tv, x)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
        # the classifier's LayerNorm as mmpretrain's norm3 after global pooling = torchvision's pre-logits
        cls = mm_convnext(no_out_norm=False, out_indices=(3, ), gap_before_final_norm=True)
        cls.load_state_dict(bb, strict=True)
        torch.testing.assert_close(cls(x)[0], tv.classifier[:2](tv.avgpool(tv.features(x))), rtol=1e-4, atol=1e-5)


def test_converter_write_refused_by_the_os(tmp_path, capsys):
    """save_converted under a file-size limit: exit status 2, one line naming DST and the fix, nothing in the
    output folder (no temp file); under umask 027 the written file is 0640."""
    src = write(rand_sd(tv_convnext_schema(classes=5)), tmp_path / 'tv.pth')
    (tmp_path / 'out').mkdir()
    dst = str(tmp_path / 'out' / 'cnx.pth')
    with file_size_limit(4096):  # the converted weights are ~100 times larger
        assert tool('convnext2mmpretrain').main([src, dst]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f'error: could not write {dst}: file too large (file-size limit, see ulimit -f): raise the limit or write '
        'elsewhere, then rerun')
    assert os.listdir(tmp_path / 'out') == []
    with process_umask(0o027):
        assert tool('convnext2mmpretrain').main([src, dst]) == 0
    assert stat.S_IMODE(os.stat(dst).st_mode) == 0o640 and os.listdir(tmp_path / 'out') == ['cnx.pth']


def test_convnext_timm_keys_and_same_function(tmp_path):
    schema = timm_convnext_schema()
    sd = rand_sd(schema, seed=1)
    dst = str(tmp_path / 'cnx.pth')
    assert tool('convnext2mmpretrain').main([write(sd, tmp_path / 'timm.pth'), dst, '--no-head']) == 0
    bb = strip(load_converted(dst), 'backbone.')
    plain = mm_convnext()
    plain.load_state_dict(bb, strict=True)  # zero missing, zero unexpected
    timm_cnx = pytest.importorskip('timm.models.convnext')
    ref = timm_cnx.ConvNeXt(depths=DEPTHS, dims=CH, num_classes=5).eval()
    ref.load_state_dict(sd, strict=True)  # the schema above IS timm's layout
    outs = []
    for st in ref.stages:
        st.register_forward_hook(lambda m, a, o: outs.append(o))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref.forward_features(x)
        for a, b in zip(plain(x), outs):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_convnext_check_against_a_segmentor_config(tmp_path):
    """--config: the backbone keys of configs/d2ls land on the config's model; the report lists what is unset."""
    cfg = tmp_path / 'tiny_d2ls.py'
    cfg.write_text(TINY_D2LS.format(base=osp.join(REPO_ROOT, 'configs', 'd2ls', 'd2ls_convnext_loveda.py')))
    src = write(rand_sd(tv_convnext_schema(classes=5)), tmp_path / 'tv.pth')
    mod = tool('convnext2mmpretrain')
    assert mod.main([src, str(tmp_path / 'a.pth'), '--no-head', '--config', str(cfg)]) == 0
    # the stock mmpretrain ConvNeXt has per-stage output norms nobody has weights for: refused unless partial
    stock = ['--cfg-options', 'model.backbone.type=mmpretrain.ConvNeXt']
    assert mod.main([src, str(tmp_path / 'b.pth'), '--no-head', '--config', str(cfg)] + stock) == 1
    assert not osp.exists(tmp_path / 'b.pth')
    assert mod.main([src, str(tmp_path / 'b.pth'), '--no-head', '--config', str(cfg), '--allow-partial'] + stock) == 0


# ---------------------------------------------------------------- D2LS release
TINY_D2LS = """_base_ = ['{base}']
model = dict(
    backbone=dict(type='ConvNeXtNoOutNorm', arch=dict(_delete_=True, depths=[1, 2, 1, 1], channels=[8, 16, 32, 64]),
                  drop_path_rate=0.0, init_cfg=None),
    decode_head=dict(in_channels=[8, 16, 32, 64], channels=32, num_classes=3, query_ratio=2, num_stages=2,
                     num_heads=2))
"""


def _d2ls_release(tmp_path):
    sd = rand_sd(d2ls_release_schema(c=32, n=3, r=2, stages=2), seed=2)
    sd['epoch'] = torch.tensor(3)  # Lightning keeps non-tensors too; a stray tensor outside net. is reported
    del sd['epoch']
    lightning = {'epoch': 29, 'global_step': 15690, 'pytorch-lightning_version': '2.1.0', 'state_dict': sd,
                 'optimizer_states': [], 'lr_schedulers': [], 'callbacks': {}}
    cfg = tmp_path / 'tiny_d2ls.py'
    cfg.write_text(TINY_D2LS.format(base=osp.join(REPO_ROOT, 'configs', 'd2ls', 'd2ls_convnext_loveda.py')))
    return sd, write(lightning, tmp_path / 'd2ls.ckpt'), str(cfg)


def test_d2ls_release_converts_with_no_unmatched_keys_and_same_function(tmp_path, capsys):
    from mmengine.config import Config
    sd, src, cfg = _d2ls_release(tmp_path)
    dst = str(tmp_path / 'd2ls.pth')
    assert tool('d2ls2mmseg').main([src, dst, '--config', cfg]) == 0
    report = capsys.readouterr().out
    assert 'source keys not used (0)' in report and 'target keys left unset (0)' in report
    assert 'never runs' in report  # the release's dead SAM self-attention/MLP are dropped, and said so

    model = build(Config.fromfile(cfg).model)
    model.eval()
    model.load_state_dict(load_converted(dst), strict=True)
    head = model.decode_head
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        feats = model.backbone(x)
        # backbone = the release's torchvision ConvNeXt features (same function)
        try:
            tv = tv_convnext_module(strip(sd, 'net.backbone.0.'))
            for a, b in zip(feats, tv_stage_outputs(tv, x)):
                torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
        except pytest.skip.Exception:
            pass
        # Eqs. 9-10 from the release's tensors: per-pixel Linear, resize to stride 4, concat deepest first, 1x1 conv
        size = feats[0].shape[-2:]
        proj = [F.interpolate(F.linear(f.permute(0, 2, 3, 1), sd[f'net.linear_c.{i}.proj.weight'],
                                       sd[f'net.linear_c.{i}.proj.bias']).permute(0, 3, 1, 2), size=size,
                              mode='bilinear', align_corners=False) for i, f in enumerate(feats)]
        e0 = F.conv2d(torch.cat(proj[::-1], 1), sd['net.aggregator.weight'])
        torch.testing.assert_close(head.aggregator(list(feats)), e0, rtol=1e-4, atol=1e-5)
        # Eqs. 12-13: mlp1 (Linear) -> halves -> GMP/GAP -> 1x1 convs -> mlp2 -> softmax over r
        m = 'net.decoder.feature_modulator.'
        z = F.linear(feats[3].permute(0, 2, 3, 1), sd[m + 'mlp1.proj.weight'], sd[m + 'mlp1.proj.bias'])
        z1, z2 = z.permute(0, 3, 1, 2).chunk(2, 1)
        a_max = F.conv2d(F.adaptive_max_pool2d(z1, 1), sd[m + 'gmp_branch.1.weight'], sd[m + 'gmp_branch.1.bias'])
        a_avg = F.conv2d(F.adaptive_avg_pool2d(z2, 1), sd[m + 'gap_branch.1.weight'], sd[m + 'gap_branch.1.bias'])
        hid = F.relu(F.linear(torch.cat([a_max, a_avg], 1).flatten(1), sd[m + 'mlp2.0.weight'], sd[m + 'mlp2.0.bias']))
        a = F.linear(hid, sd[m + 'mlp2.2.weight'], sd[m + 'mlp2.2.bias']).view(2, 3, 2).softmax(-1)
        torch.testing.assert_close(head.modulator(feats[3]), a, rtol=1e-4, atol=1e-5)
        # Eq. 14 as the release computes it: grouped conv1d of the r candidates with A, per image
        t = 'net.decoder.token.'
        cand = F.linear(sd[t + 'basic_queries.weight'], sd[t + 'token_mlp.weight'], sd[t + 'token_mlp.bias'])
        cand = cand.reshape(3 * 2, 32)
        d0 = torch.stack([F.conv1d(cand[None], a[b][..., None], groups=3)[0] for b in range(2)])
        torch.testing.assert_close(head.dynamic_dictionary(feats[3])[0], d0, rtol=1e-4, atol=1e-5)
        # the hypernetwork MLP's layers.{0,1,2} -> our Sequential indices {0,2,4}
        q = torch.randn(2, 3, 32)
        hm = 'net.decoder.output_hypernetwork_mlps.layers.'
        ref = F.relu(F.linear(q, sd[hm + '0.weight'], sd[hm + '0.bias']))
        ref = F.linear(F.relu(F.linear(ref, sd[hm + '1.weight'], sd[hm + '1.bias'])), sd[hm + '2.weight'],
                       sd[hm + '2.bias'])
        torch.testing.assert_close(head.hyper_mlp(q), ref)
        # the release's random-Fourier PE buffer (SAM PositionEmbeddingRandom): x first, cells centred, [-1, 1]
        g = sd['net.pe_layer.positional_encoding_gaussian_matrix']
        ys, xs = torch.meshgrid((torch.arange(4) + 0.5) / 4, (torch.arange(6) + 0.5) / 6, indexing='ij')
        zz = 2 * torch.pi * ((2 * torch.stack([xs, ys], -1) - 1) @ g)
        pe = torch.cat([zz.sin(), zz.cos()], -1).permute(2, 0, 1)
        torch.testing.assert_close(head.pe((4, 6)).reshape(pe.shape), pe, rtol=1e-4, atol=1e-4)
        logits = model.encode_decode(x, [dict(img_shape=(64, 64), ori_shape=(64, 64), pad_shape=(64, 64))])
    assert logits.shape == (2, 3, 64, 64) and torch.isfinite(logits).all()


def test_d2ls_release_legacy_blocks_and_wrong_config(tmp_path, capsys):
    sd, src, cfg = _d2ls_release(tmp_path)
    mod = tool('d2ls2mmseg')
    assert mod.main([src, str(tmp_path / 'legacy.pth'), '--config', cfg, '--legacy-sam-blocks']) == 0
    out = load_converted(str(tmp_path / 'legacy.pth'))
    assert 'decode_head.interactor.blocks.1.mlp.2.weight' in out and 'decode_head.interactor.blocks.0.norm3.bias' in out
    capsys.readouterr()
    # a config with another class count: reported, refused, nothing written
    assert mod.main([src, str(tmp_path / 'bad.pth'), '--config', cfg, '--cfg-options',
                     'model.decode_head.num_classes=4']) == 1
    assert 'shape mismatches (' in capsys.readouterr().out and not osp.exists(tmp_path / 'bad.pth')


# ---------------------------------------------------------------- LOGCAN++ release
TINY_LOGCAN = """_base_ = ['{base}']
model = dict(
    backbone=dict(type='ResNet', depth=50, base_channels=8, stem_channels=8, init_cfg=None),
    decode_head=dict(in_channels=[32, 64, 128, 256], channels=16, num_heads=2, num_classes=3))
"""


def test_logcanplus_release_converts_with_no_unmatched_keys(tmp_path, capsys):
    from mmengine.config import Config
    sd = rand_sd(logcanplus_release_schema(base=8, t=16, k=3, heads=2), seed=3)
    src = write({'state_dict': sd, 'epoch': 149, 'global_step': 1}, tmp_path / 'logcan.ckpt')
    cfg = tmp_path / 'tiny_logcan.py'
    cfg.write_text(TINY_LOGCAN.format(
        base=osp.join(REPO_ROOT, 'configs', 'logcanplus', 'logcanplus_r50-d8_vaihingen.py')))
    dst = str(tmp_path / 'logcan.pth')
    assert tool('logcanplus2mmseg').main([src, dst, '--config', str(cfg)]) == 0
    report = capsys.readouterr().out
    assert 'source keys not used (0)' in report and 'target keys left unset (0)' in report
    model = build(Config.fromfile(str(cfg)).model)
    model.eval()
    model.load_state_dict(load_converted(dst), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        feats = model.backbone(x)
        seg, pre = model.decode_head(list(feats))
        # the pre-classification path is a plain composition: conv3x3-BN-ReLU (bottleneck4) -> decoder_stage1
        h = 'net.seghead.'
        f4 = F.relu(F.batch_norm(F.conv2d(feats[3], sd[h + 'bottleneck4.0.weight'], padding=1),
                                 sd[h + 'bottleneck4.1.running_mean'], sd[h + 'bottleneck4.1.running_var'],
                                 sd[h + 'bottleneck4.1.weight'], sd[h + 'bottleneck4.1.bias'], eps=1e-5))
        torch.testing.assert_close(pre, F.conv2d(f4, sd[h + 'decoder_stage1.weight'], sd[h + 'decoder_stage1.bias']),
                                   rtol=1e-4, atol=1e-5)
        # the release's q/k Linears on channels-last maps = our 1x1 convs
        lca = model.decode_head.lcas[3]
        ref = F.linear(f4.permute(0, 2, 3, 1), sd[h + 'center4.q.weight'], sd[h + 'center4.q.bias'])
        torch.testing.assert_close(lca.query(f4), ref.permute(0, 3, 1, 2), rtol=1e-4, atol=1e-5)
    assert seg.shape == (1, 3, 16, 16) and torch.isfinite(seg).all()


def test_resnet_backbone_of_logcanplus_is_torchvision_function():
    """The release's backbone keys (torchvision ResNet-50) drive mmseg's ResNet (V1b) to the same outputs."""
    tvr = pytest.importorskip('torchvision.models.resnet')
    from mmseg.models.backbones import ResNet

    from rsseg_ext.models.utils.weight_conversion import convert_state_dict, logcanplus_release_converter
    ref = tvr.resnet50().eval()
    sd = {'net.backbone.' + k: v for k, v in ref.state_dict().items() if not k.startswith('fc.')}
    out, report = convert_state_dict(sd, logcanplus_release_converter())
    assert not report.unmatched
    ours = ResNet(depth=50, out_indices=(0, 1, 2, 3))
    ours.eval()
    ours.load_state_dict(strip(out, 'backbone.'), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        y = ref.maxpool(ref.relu(ref.bn1(ref.conv1(x))))
        for layer, o in zip((ref.layer1, ref.layer2, ref.layer3, ref.layer4), ours(x)):
            y = layer(y)
            torch.testing.assert_close(o, y, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- DINO
def _tiny_dino():
    from rsseg_ext.models.backbones import DINOViTEncoder
    torch.manual_seed(0)
    return DINOViTEncoder(patch_size=8, embed_dim=32, depth=2, num_heads=2, pretrain_img_size=32, input_size=32,
                          out_indices=(1, ), allow_random_init=True, finetune='full').eval()


def test_dino_full_checkpoint_to_mmpretrain_vit_same_function(tmp_path, capsys):
    from mmpretrain.models.backbones import VisionTransformer
    enc = _tiny_dino()
    sd = enc.state_dict()
    assert {k.split('.')[0] for k in sd} == {'cls_token', 'pos_embed', 'patch_embed', 'blocks', 'norm'}
    full = {'teacher': {**{'backbone.' + k: v for k, v in sd.items()}, 'head.mlp.0.weight': torch.randn(4, 32)},
            'student': {'module.backbone.' + k: v for k, v in sd.items()}, 'epoch': 100,
            'args': argparse.Namespace(arch='vit_base', patch_size=8)}
    src = write(full, tmp_path / 'dino_full.pth')
    dst = str(tmp_path / 'dino_mmpretrain.pth')
    assert tool('dino2mmpretrain').main([src, dst]) == 0
    report = capsys.readouterr().out
    assert 'target keys left unset (0)' in report and 'source keys not used (0)' in report
    vit = VisionTransformer(arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=128),
                            patch_size=8, img_size=32, out_type='raw')
    vit.eval()
    vit.load_state_dict(strip(load_converted(dst), 'backbone.'), strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ref = enc(x)[0]  # (B, D, 4, 4), final norm applied
        got = vit(x)[0][:, 1:].transpose(1, 2).reshape(ref.shape)
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-5)
    # --target rsseg: DINOViTEncoder reads the converted file itself
    dst2 = str(tmp_path / 'dino_rsseg.pth')
    assert tool('dino2mmpretrain').main([src, dst2, '--target', 'rsseg']) == 0
    from rsseg_ext.models.backbones import DINOViTEncoder
    enc2 = DINOViTEncoder(patch_size=8, embed_dim=32, depth=2, num_heads=2, pretrain_img_size=32, input_size=32,
                          out_indices=(1, ), checkpoint=dst2).eval()
    enc2.init_weights()
    with torch.no_grad():
        torch.testing.assert_close(enc2(x)[0], ref)


def test_dino_layout_matches_timm_vit():
    timm_vit = pytest.importorskip('timm.models.vision_transformer')
    ref = timm_vit.VisionTransformer(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=0)
    ours = _tiny_dino()
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in ref.state_dict().items()}


# ---------------------------------------------------------------- CLIP (OpenAI / RemoteCLIP / open_clip)
TINY_CLIP = dict(embed_dim=32, vision_cfg=dict(layers=1, width=32, patch_size=8, image_size=32, head_width=16),
                 text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=1))


@pytest.fixture(scope='module')
def tiny_clip():
    import open_clip
    torch.manual_seed(0)
    return open_clip.model.CLIP(**TINY_CLIP).eval()


def _text_features(model, names):
    import open_clip
    tokens = open_clip.tokenizer.SimpleTokenizer(context_length=77)(list(names))
    with torch.no_grad():
        return F.normalize(model.encode_text(tokens).float(), dim=-1)


@pytest.mark.parametrize('fmt', ['bin', 'safetensors', 'torchscript', 'training'])
def test_clip_files_convert_to_a_plain_open_clip_state_dict(tmp_path, tiny_clip, fmt, capsys):
    from rsseg_ext.models.text import OpenCLIPTextEncoder
    sd = tiny_clip.state_dict()
    src = str(tmp_path / f'clip.{fmt}')
    if fmt == 'bin':
        torch.save({'module.' + k: v for k, v in sd.items()}, src)  # a DDP-saved state dict
    elif fmt == 'safetensors':
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in sd.items()}, src)
    elif fmt == 'training':  # open_clip training checkpoint
        torch.save({'epoch': 3, 'name': 'run', 'state_dict': {'module.' + k: v for k, v in sd.items()}}, src)
    else:
        try:  # OpenAI ships TorchScript archives
            traced = torch.jit.trace_module(tiny_clip, {'encode_text': (torch.zeros(1, 77, dtype=torch.long), )})
        except Exception as e:  # noqa: BLE001
            pytest.skip(f'open_clip does not trace here: {e}')
        traced.save(src)
    dst = str(tmp_path / 'clip_openclip.pth')
    assert tool('clip2openclip').main([src, dst]) == 0
    report = capsys.readouterr().out
    assert 'target keys left unset (0)' in report and "converted keys the target does not have (0)" in report
    assert set(load_converted(dst)) == set(sd)
    enc = OpenCLIPTextEncoder(model_cfg=TINY_CLIP, checkpoint=dst, allow_random_init=False)
    enc.init_weights()
    names = ['building', 'low vegetation']
    torch.testing.assert_close(enc(names), _text_features(tiny_clip, names), rtol=1e-4, atol=1e-5)


def test_clip_text_only_and_not_a_clip_file(tmp_path, tiny_clip, capsys):
    src = write(tiny_clip.state_dict(), tmp_path / 'clip.bin')
    dst = str(tmp_path / 'text.pth')
    assert tool('clip2openclip').main([src, dst, '--text-only']) == 0
    assert 'image tower (--text-only)' in capsys.readouterr().out
    assert not any(k.startswith('visual.') for k in load_converted(dst))
    bad = write(rand_sd(tv_convnext_schema()), tmp_path / 'convnext.pth')
    assert tool('clip2openclip').main([bad, str(tmp_path / 'x.pth')]) == 2
    assert 'does not look like CLIP weights' in capsys.readouterr().err


# ---------------------------------------------------------------- the CLI, end to end
def test_cli_fails_clearly_on_a_wrong_or_missing_file(tmp_path, capsys):
    bad = write(rand_sd(tv_convnext_schema(classes=5)), tmp_path / 'convnext.pth')
    script = osp.join(TOOLS, 'd2ls2mmseg.py')
    # one real process (argparse, exit status, stderr); the other cases run in-process (start-up is slow here)
    p = subprocess.run([sys.executable, script, bad, str(tmp_path / 'out.pth'), '--config', 'none'],
                       capture_output=True, text=True, env=tool_env(), cwd=REPO_ROOT, timeout=300)
    assert p.returncode == 2 and 'does not look like a D2LS release checkpoint' in p.stderr, p.stderr[-2000:]
    assert 'features.0.0.weight' in p.stderr and not osp.exists(tmp_path / 'out.pth')
    assert tool('d2ls2mmseg').main([str(tmp_path / 'nope.ckpt'), str(tmp_path / 'out.pth')]) == 2
    err = capsys.readouterr().err
    assert 'nope.ckpt' in err and 'never downloads' in err


def test_pickled_checkpoint_needs_trust(tmp_path, capsys):
    """Lightning checkpoints that pickle objects are refused unless --trust-checkpoint."""
    sd, _, cfg = _d2ls_release(tmp_path)
    src = write({'state_dict': sd, 'hyper_parameters': argparse.Namespace(lr=8e-5)}, tmp_path / 'pickled.ckpt')
    mod = tool('d2ls2mmseg')
    assert mod.main([src, str(tmp_path / 'a.pth'), '--config', cfg]) == 2
    assert '--trust-checkpoint' in capsys.readouterr().err
    assert mod.main([src, str(tmp_path / 'a.pth'), '--config', cfg, '--trust-checkpoint']) == 0


# ---------------------------------------------------------------- VGG16 (torchvision) -> mmpretrain VGG + FCN-8s fc6/fc7
def test_vgg16_features_and_fc_as_conv_same_function(tmp_path, capsys):
    from mmpretrain.models.backbones import VGG

    from rsseg_ext.models.decode_heads.fcn8s_head import FCN8sHead
    tvv = pytest.importorskip('torchvision.models.vgg')
    torch.manual_seed(0)
    features = tvv.make_layers(tvv.cfgs['D'])  # torchvision VGG16's trunk (no 500 MB classifier in a test)
    sd = {'features.' + k: v for k, v in features.state_dict().items()}
    hid = 16  # real fc6/fc7 are 4096 wide; the layout is the same
    sd.update({'classifier.0.weight': torch.randn(hid, 512 * 7 * 7) * 0.01, 'classifier.0.bias': torch.randn(hid),
               'classifier.3.weight': torch.randn(hid, hid), 'classifier.3.bias': torch.randn(hid),
               'classifier.6.weight': torch.randn(10, hid), 'classifier.6.bias': torch.randn(10)})
    dst = str(tmp_path / 'vgg.pth')
    assert tool('vgg2mmpretrain').main([write(sd, tmp_path / 'vgg16.pth'), dst]) == 0
    assert 'source keys not used (0)' in capsys.readouterr().out
    out = load_converted(dst)
    vgg = VGG(depth=16, out_indices=(4, ))
    vgg.eval()
    vgg.load_state_dict(strip(out, 'backbone.'), strict=True)
    head = FCN8sHead(in_channels=(256, 512, 512), channels=hid, num_classes=3)
    missing = set(head.state_dict()) - set(strip(out, 'decode_head.'))
    assert {k.split('.')[0] for k in missing} <= {'conv_seg', 'score_pool4', 'score_pool3', 'up2_a', 'up2_b', 'up8'}
    head.load_state_dict(strip(out, 'decode_head.'), strict=False)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        f = features(x)  # (1, 512, 7, 7)
        torch.testing.assert_close(vgg(x)[0], f, rtol=1e-4, atol=1e-5)
        # fc6 on the flattened 7x7 map == the 7x7 conv6 at the centre position; fc7 == 1x1 conv7
        ref6 = F.linear(f.flatten(1), sd['classifier.0.weight'], sd['classifier.0.bias'])
        torch.testing.assert_close(head.conv6(f)[:, :, 3, 3], ref6, rtol=1e-4, atol=1e-4)
        ref7 = F.linear(ref6, sd['classifier.3.weight'], sd['classifier.3.bias'])
        torch.testing.assert_close(head.conv7(ref6[..., None, None])[..., 0, 0], ref7, rtol=1e-4, atol=1e-4)

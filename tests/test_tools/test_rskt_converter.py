"""tools/model_converters/rsktseg2mmseg.py: the RSKT-Seg release (LiBingyu01/RSKT-Seg, detectron2) -> RSKTSeg.

The release is rebuilt at tiny sizes with random values from its public key layout (written here as a name table,
independently of the converter's rules): the fine-tuned OpenAI-layout CLIP with split q/k/v
(``sem_seg_head.predictor.clip_model``), the frozen RemoteCLIP with split q/k/v and its unused text tower
(``clip_model_remote``), ``dino_model``, the meta-architecture convs and ``RSKT_Decoder``
(``sem_seg_head.predictor.transformer``), wrapped as a detectron2 checkpoint. Checked: every key lands where the
table says with the same tensor, the converted file loads strictly, the CLIP towers compute what open_clip computes
with the same (packed) weights, the RemoteCLIP q/k/v are re-packed exactly, the RS-Fusion blocks compute the
release's equations from the release's tensors, and the error paths.
"""
import importlib.util
import os.path as osp
import re
import sys
from typing import Optional

import pytest
import torch
import torch.nn.functional as F

from conftest import REPO_ROOT

sys.path.insert(0, osp.join(REPO_ROOT, 'tests', 'test_models', 'test_rskt'))
from rskt_tiny import CLIP, RCLIP, tiny_model_overrides  # noqa: E402

TOOL = osp.join(REPO_ROOT, 'tools', 'model_converters', 'rsktseg2mmseg.py')
BASE_CFG = osp.join(REPO_ROOT, 'configs', 'rskt_seg', 'rskt-seg_vit-b16_dlrsd.py')
PRED = 'sem_seg_head.predictor.'
DEC = PRED + 'transformer.'
QKV = ('q_proj_weight', 'k_proj_weight', 'v_proj_weight')
_MOD = {}


def tool():
    if 'm' not in _MOD:
        spec = importlib.util.spec_from_file_location('_conv_rsktseg2mmseg', TOOL)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _MOD['m'] = mod
    return _MOD['m']


# ---------------------------------------------------------------- the release's key layout (names only)
def _release_name(k: str) -> str:
    """Our RSKTSeg key (neck / head / dino) -> the release's key (RSKT_Seg / RSKT_Decoder attribute names)."""
    if k.startswith('dino.'):
        return 'dino_model.' + k[len('dino.'):]
    m = re.fullmatch(r'neck\.layers\.(\d+)\.(spatial|klass)\.(.+)\.(weight|bias)', k)
    if m:
        i, blk, name, wb = m.groups()
        inner = {'norm1': 'norm1', 'norm2': 'norm2', 'q': 'attention.q', 'k': 'attention.k', 'v': 'attention.v',
                 'proj': 'attention.proj', 'sr': 'attention.sr_k', 'norm_k': 'attention.norm_k',
                 'sr_v': 'attention.sr_v', 'norm_v': 'attention.norm_v', 'mlp.fc1': 'mlp.fc1', 'mlp.gate': 'mlp.fc2',
                 'mlp.fc2': 'mlp.fc3', 'dwconv': 'mlp.dwconv.dwconv'}[name]
        block = {'spatial': 'spatial_fusion', 'klass': 'class_fusion'}[blk]
        return f'{DEC}layers.{i}.{block}.sa.{inner}.{wb}'
    name, wb = k.rsplit('.', 1)
    table = {'neck.dino_proj': 'dino_down_sample', 'neck.embed_clip': DEC + 'conv1', 'neck.embed_dino': DEC + 'conv2',
             'neck.embed_fuse': DEC + 'fusion_corr', 'neck.appearance_proj.0': DEC + 'guidance_projection.0',
             'neck.text_proj.0': DEC + 'text_guidance_projection.0', 'decode_head.head': DEC + 'head'}
    for i in range(2):
        table[f'decode_head.pre_proj.clip.{i}'] = f'upsample{i + 1}'
        table[f'decode_head.pre_proj.rclip.{i}'] = f'upsample{i + 1}_remote'
        table[f'decode_head.pre_proj.dino.{i}'] = f'dino_decod_proj{i + 1}'
        table[f'decode_head.guidance_proj.clip.{i}.0'] = f'{DEC}CLIP_decoder_guidance_projection.{i}.0'
        table[f'decode_head.guidance_proj.rclip.{i}.0'] = f'{DEC}CLIP_decoder_guidance_projection_remote.{i}.0'
        table[f'decode_head.guidance_proj.dino.{i}.0'] = f'{DEC}DINO_decoder_guidance_projection.{i}.0'
        table[f'decode_head.ups.{i}.up'] = f'{DEC}Fusiondecoder{i + 1}.up'
        for j in (0, 1, 3, 4):
            table[f'decode_head.ups.{i}.conv.{j}'] = f'{DEC}Fusiondecoder{i + 1}.conv.double_conv.{j}'
    return table[name] + '.' + wb


def _openai_split(sd: dict, prefix: str) -> dict:
    """OpenAI/open_clip CLIP keys -> the release's layout: prefix, packed in_proj_weight split into q/k/v."""
    out = {}
    for k, v in sd.items():
        if k.endswith('in_proj_weight'):
            for name, chunk in zip(QKV, v.chunk(3, dim=0)):
                out[prefix + k[:-len('in_proj_weight')] + name] = chunk.clone()
        else:
            out[prefix + k] = v.clone()
    return out


def _random_clip(cfg: dict, seed: int):
    from rsseg_ext.models.text.clip_text_encoder import build_open_clip
    torch.manual_seed(seed)
    m = build_open_clip(model_cfg=cfg)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():  # non-zero biases / non-unit norms everywhere
            p.add_(torch.randn(p.shape, generator=g) * 0.02)
    return m.eval()


def _tiny_config(tmp_path, num_layers: int = 2, dino: Optional[dict] = None) -> str:
    model = tiny_model_overrides(64)
    model['neck']['num_layers'] = num_layers
    model['dino'].update(dino or {})
    path = tmp_path / f'rskt_tiny_n{num_layers}{"_dino" if dino else ""}.py'
    path.write_text(f'_base_ = [{BASE_CFG!r}]\nmodel = {model!r}\n')
    return str(path)


def _build(cfg_path: str):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(Config.fromfile(cfg_path).model).eval()


def make_release(tmp_path, num_layers: int = 2, packed_clip: bool = False, dino: Optional[dict] = None):
    """(detectron2 checkpoint path, release state dict, expected converted state dict, reference CLIPs, config)."""
    cfg = _tiny_config(tmp_path, num_layers, dino)
    ours = _build(cfg).state_dict()
    ref, ref_r = _random_clip(CLIP, 1), _random_clip(RCLIP, 2)
    release, expected = {}, {}
    clip_sd = ref.state_dict()
    release.update({PRED + 'clip_model.' + k: v.clone() for k, v in clip_sd.items()} if packed_clip else
                   _openai_split(clip_sd, PRED + 'clip_model.'))
    expected.update({k.replace(PRED + 'clip_model.', 'backbone.text_encoder.clip.'): v
                     for k, v in _openai_split(clip_sd, PRED + 'clip_model.').items()})
    release.update(_openai_split(ref_r.state_dict(), PRED + 'clip_model_remote.'))  # both towers, as released
    expected.update({'remote_clip.' + k: v for k, v in ref_r.state_dict().items() if k.startswith('visual.')})
    g = torch.Generator().manual_seed(3)
    for k, v in ours.items():
        if k.startswith(('backbone.', 'remote_clip.')):
            continue
        t = torch.randn(v.shape, generator=g) * 0.2
        release[_release_name(k)] = t
        expected[k] = t
    assert set(expected) == set(ours)  # the table covers the whole model
    d2 = {'model': release, 'optimizer': {'state': {}, 'param_groups': []}, 'scheduler': {'last_epoch': 10},
          'iteration': 10}
    path = str(tmp_path / 'rskt_release.pth')
    torch.save(d2, path)
    return path, release, expected, (ref, ref_r), cfg


def load_converted(path: str) -> dict:
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    return ckpt['state_dict']


# ---------------------------------------------------------------- tests
def test_release_converts_every_key_and_loads_strictly(tmp_path, capsys):
    src, release, expected, _, cfg = make_release(tmp_path)
    dst = str(tmp_path / 'out.pth')
    assert tool().main([src, dst, '--config', cfg]) == 0
    report = capsys.readouterr().out
    assert 'source keys not used (0)' in report and 'target keys left unset (0)' in report, report
    assert 'shape mismatches (0)' in report and 'result: OK' in report
    assert 'RemoteCLIP text tower' in report  # dropped on purpose, with the reason
    assert 'N = 2 RS-Fusion layers' in report and 'optimizer, scheduler and iteration' in report
    out = load_converted(dst)
    assert set(out) == set(expected)
    for k, v in expected.items():
        assert torch.equal(out[k], v), k  # every tensor where the release's name table says, unchanged
    model = _build(cfg)
    res = model.load_state_dict(out, strict=True)
    assert not res.missing_keys and not res.unexpected_keys
    meta = torch.load(dst, map_location='cpu', weights_only=True)['meta']
    assert meta['num_layers'] == 2 and meta['converted_from'] == 'rskt_release.pth'


@pytest.mark.parametrize('packed_clip', [False, True])
def test_clip_towers_same_function_as_open_clip(tmp_path, packed_clip):
    """CLIP converted from the release's split-q/k/v OpenAI layout (or a packed variant) computes what open_clip
    computes with the packed weights; RemoteCLIP's q/k/v are concatenated back exactly."""
    from rsseg_ext.models.utils.clip_vit import clip_dense_block, clip_vit_embed, run_blocks
    src, release, _, (ref, ref_r), cfg = make_release(tmp_path, packed_clip=packed_clip)
    dst = str(tmp_path / 'out.pth')
    assert tool().main([src, dst, '--config', cfg]) == 0
    out = load_converted(dst)
    model = _build(cfg)
    model.load_state_dict(out, strict=True)
    for k, v in ref_r.state_dict().items():  # exact re-packing
        if k.startswith('visual.'):
            assert torch.equal(out['remote_clip.' + k], v), k
    q = release[PRED + 'clip_model_remote.visual.transformer.resblocks.1.attn.q_proj_weight']
    w = out['remote_clip.visual.transformer.resblocks.1.attn.in_proj_weight']
    assert torch.equal(w[:q.shape[0]], q)

    from open_clip import tokenize
    tokens = tokenize(['A photo of a river in the scene', 'A photo of a building in the scene'])
    x = torch.randn(2, 3, 64, 64)
    clip = model.backbone.clip
    with torch.no_grad():
        torch.testing.assert_close(clip.encode_text(tokens), ref.encode_text(tokens), rtol=0, atol=1e-5)
        torch.testing.assert_close(clip.encode_image(x), ref.encode_image(x), rtol=0, atol=1e-5)
        # the dense path (hooks + CAT-Seg's value trick on the last block) through the split weights
        mine = model.backbone.encode_image_tokens(x)
        t, _ = clip_vit_embed(ref.visual, x)
        t, hooks = run_blocks(ref.visual.transformer.resblocks[:-1], t, model.backbone.out_indices)
        dense = ref.visual.ln_post(clip_dense_block(ref.visual.transformer.resblocks[-1], t)) @ ref.visual.proj
        torch.testing.assert_close(mine['tokens'], dense, rtol=0, atol=1e-5)
        for a, b in zip(mine['hooks'], hooks):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
        # RemoteCLIP hooks = open_clip's blocks with the original packed weights
        r = model.remote_clip
        t, grid = clip_vit_embed(ref_r.visual, x)
        _, rh = run_blocks(ref_r.visual.transformer.resblocks, t, r.out_indices, stop=r.stop)
        for a, b in zip(r(x), rh):
            torch.testing.assert_close(a.flatten(2).transpose(1, 2), b[:, 1:], rtol=0, atol=1e-5)  # (B, L, W)


def _ln(x, release, p):
    return F.layer_norm(x, x.shape[-1:], release[p + '.weight'], release[p + '.bias'])


def _lin(x, release, p):
    return F.linear(x, release[p + '.weight'], release[p + '.bias'])


def _attn(q, k, v, heads):
    n, lq, c = q.shape
    sp = lambda t: t.reshape(n, t.shape[1], heads, c // heads).transpose(1, 2)  # noqa: E731
    a = (sp(q) @ sp(k).transpose(-1, -2) * (c // heads)**-0.5).softmax(-1)
    return (a @ sp(v)).transpose(1, 2).reshape(n, lq, c)


def release_spatial_fusion(release: dict, s: str, x, gd, heads: int):
    """The release's ``SptialFusionBlock`` (a MiT block): ``x (N, C, h, w)``, appearance guidance ``gd (N, C, h, w)``;
    q / k from ``[LN(x); gd]`` (keys reduced by ``sr_k`` + ``norm_k``), values from ``sr_v(LN(x))`` + ``norm_v``, gated
    MLP ``fc3(ReLU6(fc1(z)) * fc2(z))`` followed by the 7x7 depthwise ``dwconv``."""
    n, c, h, w = x.shape
    xs = x.flatten(2).transpose(1, 2)
    xn = _ln(xs, release, s + 'norm1')
    u = torch.cat([xn, gd.flatten(2).transpose(1, 2)], -1)
    ur = F.conv2d(u.transpose(1, 2).reshape(n, 2 * c, h, w), release[s + 'attention.sr_k.weight'],
                  release[s + 'attention.sr_k.bias'], stride=2).flatten(2).transpose(1, 2)
    vr = F.conv2d(xn.transpose(1, 2).reshape(n, c, h, w), release[s + 'attention.sr_v.weight'],
                  release[s + 'attention.sr_v.bias'], stride=2).flatten(2).transpose(1, 2)
    a = _attn(_lin(u, release, s + 'attention.q'), _lin(_ln(ur, release, s + 'attention.norm_k'), release,
                                                         s + 'attention.k'),
              _lin(_ln(vr, release, s + 'attention.norm_v'), release, s + 'attention.v'), heads)
    xs = xs + _lin(a, release, s + 'attention.proj')
    z = _ln(xs, release, s + 'norm2')
    m = _lin(F.relu6(_lin(z, release, s + 'mlp.fc1')) * _lin(z, release, s + 'mlp.fc2'), release, s + 'mlp.fc3')
    m = F.conv2d(m.transpose(1, 2).reshape(n, c, h, w), release[s + 'mlp.dwconv.dwconv.weight'],
                 release[s + 'mlp.dwconv.dwconv.bias'], padding=3, groups=c)
    return xs.transpose(1, 2).reshape(n, c, h, w) + m


def release_class_fusion(release: dict, k: str, e, tg, heads: int):
    """The release's ``ClassFusionBlock``: 2x2 average pool, one length-T sequence per pooled pixel through the MiT
    block (text guidance concatenated to the q/k inputs), bilinear (align_corners=True) back, outer residual.
    ``e (B, C, T, h, w)``, ``tg (B, T, C)`` -> ``(B, C, T, h, w)``."""
    b, c, t, h, w = e.shape
    y0 = e.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
    p = F.avg_pool2d(y0, 2)
    seq = p.reshape(b, t, c, -1).permute(0, 3, 1, 2).reshape(-1, t, c)  # (B * h/2 * w/2, T, C)
    tau = tg.unsqueeze(1).expand(b, p.shape[-1] * p.shape[-2], t, c).reshape(-1, t, c)
    sn = _ln(seq, release, k + 'norm1')
    ut = torch.cat([sn, tau], -1)
    r = seq + _lin(_attn(_lin(ut, release, k + 'attention.q'), _lin(ut, release, k + 'attention.k'),
                         _lin(sn, release, k + 'attention.v'), heads), release, k + 'attention.proj')
    z = _ln(r, release, k + 'norm2')
    r = r + F.relu6(_lin(F.relu6(_lin(z, release, k + 'mlp.fc1')) * _lin(z, release, k + 'mlp.fc2'), release,
                         k + 'mlp.fc3'))
    r = r.reshape(b, -1, t, c).permute(0, 2, 3, 1).reshape(b * t, c, h // 2, w // 2)
    ref = y0 + F.interpolate(r, size=(h, w), mode='bilinear', align_corners=True)
    return ref.reshape(b, t, c, h, w).permute(0, 2, 1, 3, 4)


def test_rs_fusion_blocks_compute_the_release_equations(tmp_path):
    """SET / CET of the converted model = the release's MiT blocks written from its tensors (gated MLP fc1/fc2/fc3,
    key reduction sr_k, DWConv inside the spatial MLP)."""
    src, release, _, _, cfg = make_release(tmp_path)
    dst = str(tmp_path / 'out.pth')
    assert tool().main([src, dst, '--config', cfg]) == 0
    model = _build(cfg)
    model.load_state_dict(load_converted(dst), strict=True)
    layer = model.neck.layers[1]
    heads = layer.spatial.num_heads
    n, c, h, w = 3, 32, 8, 8
    x, gd = torch.randn(n, c, h, w), torch.randn(n, c, h, w)
    with torch.no_grad():
        ref = release_spatial_fusion(release, f'{DEC}layers.1.spatial_fusion.sa.', x, gd, heads)
        torch.testing.assert_close(layer.spatial(x, gd), ref, rtol=1e-4, atol=1e-5)
        b, t = 2, 5
        e, tg = torch.randn(b, c, t, h, w), torch.randn(b, t, c)
        ref = release_class_fusion(release, f'{DEC}layers.1.class_fusion.sa.', e, tg, heads)
        torch.testing.assert_close(layer.klass(e, tg), ref, rtol=1e-4, atol=1e-5)


def test_error_paths(tmp_path, capsys):
    mod = tool()
    src, _, _, _, cfg = make_release(tmp_path, num_layers=2)
    # the config's N differs from the release's: refused, naming the option; nothing written
    dst = str(tmp_path / 'bad.pth')
    assert mod.main([src, dst, '--config', cfg, '--cfg-options', 'model.neck.num_layers=3']) == 2
    err = capsys.readouterr().err
    assert 'N = 2 RS-Fusion layers' in err and '--cfg-options model.neck.num_layers=2' in err, err
    assert not osp.exists(dst)
    # a CLIP width the config does not build (a ViT-L release with a ViT-B config, in miniature)
    assert mod.main([src, dst, '--config', cfg, '--cfg-options', 'model.decode_head.clip_width=128']) == 2
    assert 'model.decode_head.clip_width' in capsys.readouterr().err and not osp.exists(dst)
    # not an RSKT-Seg checkpoint (e.g. a plain CLIP file or a CAT-Seg release)
    other = str(tmp_path / 'other.pth')
    torch.save({'model': {'sem_seg_head.predictor.transformer.layers.0.swin_block.norm.weight': torch.ones(2)},
                'iteration': 1}, other)
    assert mod.main([other, dst, '--config', cfg]) == 2
    assert 'does not look like an RSKT-Seg' in capsys.readouterr().err
    # a missing file
    assert mod.main([str(tmp_path / 'nope.pth'), dst, '--config', cfg]) == 2
    assert 'not found' in capsys.readouterr().err and not osp.exists(dst)


def test_release_geometry_picks_the_matching_config():
    """ViT-B/16 vs ViT-L/14 and N are read from the key shapes (zero-stride tensors: no memory)."""
    mod = tool()

    def fake(width, patch, grid, t_width, embed, n):
        z = lambda *s: torch.zeros(()).expand(*s)  # noqa: E731
        c = PRED + 'clip_model.'
        sd = {c + 'visual.conv1.weight': z(width, 3, patch, patch), c + 'visual.positional_embedding':
              z(grid * grid + 1, width), c + 'visual.transformer.resblocks.0.mlp.c_fc.weight': z(4 * width, width),
              c + 'text_projection': z(t_width, embed), c + 'ln_final.weight': z(t_width),
              c + 'positional_embedding': z(77, t_width), c + 'token_embedding.weight': z(49408, t_width),
              c + 'transformer.resblocks.0.ln_1.weight': z(t_width), DEC + 'conv1.weight': z(128, 4, 7, 7),
              DEC + 'conv2.weight': z(128, 1, 7, 7), DEC + 'fusion_corr.weight': z(128, 256, 7, 7)}
        sd.update({f'{DEC}layers.{i}.spatial_fusion.sa.norm1.weight': z(128) for i in range(n)})
        return sd

    for (width, patch, grid, tw, embed), arch in (((768, 16, 14, 512, 512), 'ViT-B/16'),
                                                  ((1024, 14, 24, 768, 768), 'ViT-L/14')):
        for n in (2, 3, 5):
            geo = mod.release_geometry(fake(width, patch, grid, tw, embed, n))
            assert (geo['arch'], geo['num_layers'], geo['clip_width'], geo['embed_dim']) == (arch, n, width, embed)
            assert geo['separate_fusion'] and geo['cost_channels'] == 4
    assert mod.RELEASE_CONFIGS[('ViT-B/16', 3)] == 'rskt-seg_vit-b16_isaid.py'
    assert mod.RELEASE_CONFIGS[('ViT-L/14', 2)] == 'rskt-seg_vit-l14_isaid.py'
    for name in set(mod.RELEASE_CONFIGS.values()) | set(mod.ARCH_CONFIGS.values()):
        assert osp.isfile(osp.join(REPO_ROOT, 'configs', 'rskt_seg', name))
    # the shipped configs agree with the release table (N and CLIP width), so check_config accepts them
    for (arch, n), name in mod.RELEASE_CONFIGS.items():
        width, embed = (768, 512) if arch == 'ViT-B/16' else (1024, 768)
        mod.check_config(osp.join(REPO_ROOT, 'configs', 'rskt_seg', name), None,
                         dict(arch=arch, num_layers=n, clip_width=width, embed_dim=embed))


# ---------------------------------------------------------------- release-compatible mode: the release's DINO branch
class RefDINO(torch.nn.Module):
    """The release's ``vision_transformer.VisionTransformer`` (``vit_base(patch_size=8)`` of ``BuildRSIB``, at the
    tiny width): DINO's ViT with the release's ``interpolate_pos_encoding``, whose bicubic resize of the position
    table uses the hard-coded ``scale_factor=(1.717857142857143,) * 2`` (the 28 x 28 table -> 48 x 48 at 384 / 8)."""

    def __init__(self, dim: int, depth: int, heads: int, patch: int = 8, grid: int = 28):
        super().__init__()
        nn = torch.nn
        self.heads, self.patch = heads, patch
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, dim))
        self.blocks = nn.ModuleList()
        for _ in range(depth):
            b = nn.Module()
            b.norm1, b.norm2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
            b.attn = nn.Module()
            b.attn.qkv, b.attn.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
            b.mlp = nn.Module()
            b.mlp.fc1, b.mlp.fc2 = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)
            self.blocks.append(b)
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def interpolate_pos_encoding(self, tokens, w, h):
        n = self.pos_embed.shape[1] - 1
        if tokens.shape[1] - 1 == n and w == h:
            return self.pos_embed
        g = int(n**0.5)
        table = self.pos_embed[:, 1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
        table = F.interpolate(table, scale_factor=(1.717857142857143, 1.717857142857143), mode='bicubic')
        assert table.shape[-2:] == (w // self.patch, h // self.patch)  # the release asserts the same
        return torch.cat([self.pos_embed[:, :1], table.permute(0, 2, 3, 1).reshape(1, -1, table.shape[1])], 1)

    def _block(self, b, x):
        n, t, c = x.shape
        q, k, v = b.attn.qkv(b.norm1(x)).reshape(n, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        a = ((q @ k.transpose(-2, -1)) * (c // self.heads)**-0.5).softmax(-1)
        x = x + b.attn.proj((a @ v).transpose(1, 2).reshape(n, t, c))
        return x + b.mlp.fc2(F.gelu(b.mlp.fc1(b.norm2(x))))

    def get_intermediate_layers(self, x, n=1):
        _, _, w, h = x.shape
        t = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls_token.expand(t.shape[0], -1, -1), t], 1)
        t = t + self.interpolate_pos_encoding(t, w, h)
        out = []
        for i, b in enumerate(self.blocks):
            t = self._block(b, t)
            if len(self.blocks) - i <= n:
                out.append(self.norm(t))
        return out


def image_list_from_tensors(images, size_divisibility: int = 32) -> torch.Tensor:
    """detectron2's ``ImageList.from_tensors``: zero-pad every image at the bottom/right to the batch's largest
    size rounded up to a multiple of ``size_divisibility`` (``MODEL.MASK_FORMER.SIZE_DIVISIBILITY = 32``)."""
    hs, ws = max(i.shape[-2] for i in images), max(i.shape[-1] for i in images)
    hs, ws = -(-hs // size_divisibility) * size_divisibility, -(-ws // size_divisibility) * size_divisibility
    return torch.stack([F.pad(i, (0, ws - i.shape[-1], 0, hs - i.shape[-2]), value=0.0) for i in images])


def release_dino_branch(ref: RefDINO, release: dict, images, layers):
    """``RSKT_Seg.forward`` (inference, no sliding window) up to the DINO features: CLIP-normalised images padded
    by ``ImageList``, resized to ``dino_resolution`` (384), ``get_intermediate_layers(n=12)``, the patch tokens as
    48 x 48 maps; ``dino_down_sample`` of the last map, ``dino_decod_proj1/2`` of the two guidance maps."""
    x = F.interpolate(image_list_from_tensors(images), size=(384, 384), mode='bilinear', align_corners=False)
    feats = ref.get_intermediate_layers(x, n=12)
    maps = [feats[i][:, 1:].transpose(1, 2).reshape(x.shape[0], -1, 48, 48) for i in layers]
    down = F.conv2d(maps[-1], release['dino_down_sample.weight'], release['dino_down_sample.bias'], stride=2)
    g0 = F.conv2d(maps[0], release['dino_decod_proj1.weight'], release['dino_decod_proj1.bias'])
    g1 = F.conv_transpose2d(maps[1], release['dino_decod_proj2.weight'], release['dino_decod_proj2.bias'], stride=2)
    return maps, down, (g0, g1)


def _build_with(cfg_path: str, options: dict):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from mmseg.registry import MODELS
    cfg = Config.fromfile(cfg_path)
    cfg.merge_from_dict(options)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(cfg.model).eval()


DINO_384 = dict(pretrain_img_size=224, input_size=384)  # the release's 28 x 28 table and 48 x 48 working grid
RSKT_SHAPES = {'square': (96, 96), 'non-square': (72, 100)}  # 72 x 100 -> padded to 96 x 128


@pytest.fixture(scope='module')
def dino_release(tmp_path_factory):
    """A release checkpoint whose DINO has the release's table geometry, converted by the tool (default mode)."""
    tmp = tmp_path_factory.mktemp('rskt_dino')
    src, release, _, _, cfg = make_release(tmp, dino=DINO_384)
    dst = str(tmp / 'out.pth')
    assert tool().main([src, dst, '--config', cfg]) == 0
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert ckpt['meta']['compat_mode'] == 'release'
    ref = RefDINO(dim=64, depth=4, heads=2)
    ref.load_state_dict({k[len('dino_model.'):]: v for k, v in release.items() if k.startswith('dino_model.')},
                        strict=True)  # the authors' module, from the release's own keys
    return release, ckpt, cfg, ref.eval()


def _dino_branch(model, x):
    with torch.no_grad():
        maps = model.dino(model.release_pad(x))
        return maps, model.neck.dino_proj(maps[-1]), tuple(model.decode_head.pre_proj['dino'][i](maps[i])
                                                           for i in range(2))


@pytest.mark.parametrize('batch', [1, 2])
@pytest.mark.parametrize('shape', ['square', 'non-square'])
def test_release_mode_dino_branch_is_the_release(dino_release, shape, batch):
    release, ckpt, cfg, ref = dino_release
    model = _build_with(cfg, ckpt['meta']['cfg_options'])  # the options the converter chose
    model.load_state_dict(ckpt['state_dict'], strict=True)
    assert model.dino.pos_embed_resize == 'scale_factor' and model.test_cfg.release_pad_divisor == 32
    x = torch.randn(batch, 3, *RSKT_SHAPES[shape], generator=torch.Generator().manual_seed(batch))
    with torch.no_grad():
        ref_maps, ref_down, ref_guid = release_dino_branch(ref, release, list(x), model.dino.out_indices)
    maps, down, guid = _dino_branch(model, x)
    for a, b in zip(list(maps) + [down] + list(guid), list(ref_maps) + [ref_down] + list(ref_guid)):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
    assert ref_maps[-1].std() > 0.1  # features that vary: the comparison is not vacuous


def test_paper_mode_dino_table_and_no_padding_are_not_the_release(dino_release):
    """The paper-faithful defaults (position table resized to size 48; no padding) with the same weights: each
    differs from the release beyond the tolerance the release mode meets."""
    release, ckpt, cfg, ref = dino_release
    opts = dict(ckpt['meta']['cfg_options'])
    for wrong in ({'model.dino.pos_embed_resize': 'size'}, {'model.test_cfg.release_pad_divisor': None}):
        model = _build_with(cfg, {**opts, **wrong})
        model.load_state_dict(ckpt['state_dict'], strict=True)
        shape = 'square' if 'model.dino.pos_embed_resize' in wrong else 'non-square'  # one difference at a time
        x = torch.randn(1, 3, *RSKT_SHAPES[shape], generator=torch.Generator().manual_seed(7))
        with torch.no_grad():
            ref_maps = release_dino_branch(ref, release, list(x), model.dino.out_indices)[0]
        maps = _dino_branch(model, x)[0]
        assert max((a - b).abs().max().item() for a, b in zip(maps, ref_maps)) > 1e-3, wrong


def release_predict(model, x: torch.Tensor, names) -> torch.Tensor:
    """The release's whole-image prediction around the model: ``ImageList`` padding to a multiple of 32, the
    network on the padded frame, sigmoid, then ``sem_seg_postprocess``: ``result[:, :h, :w]`` (a no-op, the output
    is smaller than the image) and a bilinear resize to the image -- the padding is never cropped back."""
    out = []
    for img in x:
        h, w = img.shape[-2:]
        padded = image_list_from_tensors([img])
        with torch.no_grad():
            prob = model.decode_head.forward(model.extract_feat(padded, names)).sigmoid()[0]
        prob = prob[:, :h, :w]
        out.append(F.interpolate(prob[None], size=(h, w), mode='bilinear', align_corners=False)[0])
    return torch.stack(out)


@pytest.mark.parametrize('batch', [1, 2])
def test_release_mode_padding_of_the_whole_model(tmp_path, batch):
    """450 -> 480 in miniature: a 40 x 50 input is padded to 64 x 64 by the release and predicted over that frame;
    ours in the release mode gives the same probabilities, ours in the paper mode (no padding) does not."""
    src, _, _, _, cfg = make_release(tmp_path)
    dst = str(tmp_path / 'out.pth')
    assert tool().main([src, dst, '--config', cfg]) == 0
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    model = _build_with(cfg, ckpt['meta']['cfg_options'])
    model.load_state_dict(ckpt['state_dict'], strict=True)
    names = ('building', 'road', 'water')
    x = torch.randn(batch, 3, 40, 50, generator=torch.Generator().manual_seed(3))
    metas = [dict(img_shape=(40, 50), ori_shape=(40, 50), vocabulary=names) for _ in range(batch)]
    ref = release_predict(model, x, names)
    with torch.no_grad():
        mine = model.encode_decode(x, metas)
        model.test_cfg.release_pad_divisor = None  # the paper mode: no padding
        paper = model.encode_decode(x, metas)
    assert mine.shape == ref.shape == (batch, 3, 40, 50)
    torch.testing.assert_close(mine, ref, rtol=0, atol=1e-5)
    assert (paper - ref).abs().max() > 1e-3


# ---------------------------------------------------------------- the release's decoder (RSKT_Decoder) end to end
def _rconv(x, release, name, transpose=False, **kw):
    fn = F.conv_transpose2d if transpose else F.conv2d
    return fn(x, release[name + '.weight'], release.get(name + '.bias'), **kw)


def release_decoder(release: dict, rotated, dino_maps, text, clip_hooks, rclip_hooks, heads: int):
    """``RSKT_Seg.forward`` after the encoders + ``RSKT_Decoder.forward`` (simple_separate fusion, rotations, remote
    CLIP, DINO), from the release's tensors.

    Args:
        rotated: 4 x ``(B, Ce, g, g)`` dense CLIP maps of the image rotated by ``rot90^k`` (``img_feat0..3``).
        dino_maps: DINO's three ``(B, Dd, 2g, 2g)`` maps (``dino_feat[3]``, ``[7]``, ``[-1]``).
        text: ``(T, P, Ce)`` normalised class embeddings (repeated over the batch, as the predictor does).
        clip_hooks, rclip_hooks: the two hooked ``(B, W, g, g)`` maps of the CLIP / RemoteCLIP image towers.
    """
    b = rotated[0].shape[0]
    tb = F.normalize(text.unsqueeze(0).expand(b, -1, -1, -1), dim=-1)  # (B, T, P, Ce)
    # correlation_rotate: the rotated passes are rotated back (k = 3, 2, 1), costs rotation-major
    f = [F.normalize(m, dim=1) for m in rotated]
    f = torch.stack([f[0], torch.rot90(f[1], 3, (2, 3)), torch.rot90(f[2], 2, (2, 3)), torch.rot90(f[3], 1, (2, 3))], 1)
    corr = torch.einsum('bnchw,btpc->bnpthw', f, tb).flatten(1, 2)  # (B, N P, T, g, g)
    dino_feat = _rconv(dino_maps[-1], release, 'dino_down_sample', stride=2)
    dcorr = torch.einsum('bchw,btpc->bpthw', F.normalize(dino_feat, dim=1), tb)
    t = corr.shape[2]
    per_class = lambda c: c.transpose(1, 2).flatten(0, 1)  # noqa: E731  B P T H W -> (B T) P H W
    back = lambda c: c.reshape(b, t, *c.shape[1:]).transpose(1, 2)  # noqa: E731  (B T) C H W -> B C T H W
    # simple_separate_corr, then + the CLIP embedding
    ce = torch.sigmoid(_rconv(per_class(corr), release, DEC + 'conv1', padding=3))
    de = torch.sigmoid(_rconv(per_class(dcorr), release, DEC + 'conv2', padding=3))
    x = back(torch.sigmoid(_rconv(torch.cat([ce, de], 1), release, DEC + 'fusion_corr', padding=3))) + back(ce)
    # guidance: appearance = res3 (the un-rotated dense map), decoder guidance res4 / res5 (upsampled hooks)
    app = F.relu(_rconv(rotated[0], release, DEC + 'guidance_projection.0', padding=1))
    res = [_rconv(clip_hooks[0], release, 'upsample1', True, stride=2),
           _rconv(clip_hooks[1], release, 'upsample2', True, stride=4)]
    res_r = [_rconv(rclip_hooks[0], release, 'upsample1_remote', True, stride=2),
             _rconv(rclip_hooks[1], release, 'upsample2_remote', True, stride=4)]
    dg = [_rconv(dino_maps[0], release, 'dino_decod_proj1'),
          _rconv(dino_maps[1], release, 'dino_decod_proj2', True, stride=2)]
    guid = [[F.relu(_rconv(g[i], release, f'{DEC}{name}.{i}.0', padding=1)) for i in range(2)]
            for g, name in ((res, 'CLIP_decoder_guidance_projection'),
                            (res_r, 'CLIP_decoder_guidance_projection_remote'),
                            (dg, 'DINO_decoder_guidance_projection'))]
    tg = tb.mean(-2)
    tg = F.relu(_lin(tg / tg.norm(dim=-1, keepdim=True), release, DEC + 'text_guidance_projection.0'))
    n_layers = len({k[len(DEC):].split('.')[1] for k in release if k.startswith(DEC + 'layers.')})
    for i in range(n_layers):  # EffAggregatorLayer: spatial fusion per (image, class), then class fusion
        p = f'{DEC}layers.{i}.'
        xs = release_spatial_fusion(release, p + 'spatial_fusion.sa.', per_class(x), app.repeat_interleave(t, 0),
                                    heads)
        x = release_class_fusion(release, p + 'class_fusion.sa.', back(xs), tg, heads)
    # Fusion_conv_decoer: RSKT_Upsample x 2 (ConvT, concat [x, clip, remote clip, dino], DoubleConv) and the head
    y = per_class(x)
    for k in (1, 2):
        d = f'{DEC}Fusiondecoder{k}.'
        y = torch.cat([_rconv(y, release, d + 'up', True, stride=2)] +
                      [g[k - 1].repeat_interleave(t, 0) for g in guid], 1)
        for j in (0, 3):
            w = release[f'{d}conv.double_conv.{j}.weight']
            y = F.conv2d(y, w, padding=1)
            y = F.relu(F.group_norm(y, w.shape[0] // 16, release[f'{d}conv.double_conv.{j + 1}.weight'],
                                    release[f'{d}conv.double_conv.{j + 1}.bias']))
    return _rconv(y, release, DEC + 'head', padding=1).reshape(b, t, *y.shape[-2:])


@pytest.mark.parametrize('batch', [1, 2])
def test_converted_decoder_is_the_release_decoder(tmp_path, batch):
    """Neck + head of the converted model = the release's RSKT_Decoder (and the meta-architecture's guidance convs)
    on the same encoder outputs. The release resizes every input to a square frame (384 / 336) before the encoders,
    so its decoder only sees square maps (non-square inputs are the padding test's business)."""
    src, release, _, _, cfg = make_release(tmp_path)
    dst = str(tmp_path / 'out.pth')
    assert tool().main([src, dst, '--config', cfg]) == 0
    model = _build(cfg)
    model.load_state_dict(load_converted(dst), strict=True)
    g = torch.Generator().manual_seed(batch)
    ce, wc, dd, gr, t = 32, 64, 64, 4, 3  # tiny widths (rskt_tiny), CLIP grid 4
    rotated = [torch.randn(batch, ce, gr, gr, generator=g) for _ in range(4)]
    dino_maps = [torch.randn(batch, dd, 2 * gr, 2 * gr, generator=g) for _ in range(3)]
    text = F.normalize(torch.randn(t, 1, ce, generator=g), dim=-1)
    hooks = [torch.randn(batch, wc, gr, gr, generator=g) for _ in range(2)]
    rhooks = [torch.randn(batch, wc, gr, gr, generator=g) for _ in range(2)]
    heads = model.neck.layers[0].spatial.num_heads
    assert len({k[len(DEC):].split('.')[1] for k in release if k.startswith(DEC + 'layers.')}) == 2  # both run
    with torch.no_grad():
        ref = release_decoder(release, rotated, dino_maps, text, hooks, rhooks, heads)
        ours_dense = [torch.rot90(m, (4 - k) % 4, dims=(2, 3)) for k, m in enumerate(rotated)]  # our backbone's
        feats = dict(clip_dense=ours_dense, clip_inter=hooks, rclip_inter=rhooks, dino=dino_maps, text=text)
        mine = model.decode_head.forward(model.neck(feats))
    assert mine.shape == ref.shape == (batch, t, 4 * gr, 4 * gr)
    assert ref.std() > 1e-2
    torch.testing.assert_close(mine, ref, rtol=0, atol=1e-5)


def test_mode_paper_leaves_the_configs_defaults(tmp_path, capsys):
    src, _, _, _, cfg = make_release(tmp_path)
    dst = str(tmp_path / 'paper.pth')
    assert tool().main([src, dst, '--config', cfg, '--mode', 'paper']) == 0
    out = capsys.readouterr().out
    assert 'pos_embed_resize' not in out and 'release-compatible mode' not in out
    meta = torch.load(dst, map_location='cpu', weights_only=True)['meta']
    assert meta['compat_mode'] == 'paper' and not set(tool().RELEASE_MODE) & set(meta['cfg_options'])
    assert tool().main([src, str(tmp_path / 'rel.pth'), '--config', cfg]) == 0  # default: the release mode
    out = capsys.readouterr().out
    assert '--cfg-options model.dino.pos_embed_resize=scale_factor model.test_cfg.release_pad_divisor=32' in out


def test_release_twin_configs_and_their_pick(monkeypatch):
    """Release mode without --config picks the ``rskt-seg-release_*`` twin, which is the paper config plus exactly
    the two release keys; --mode paper picks the paper config."""
    from types import SimpleNamespace

    from mmengine.config import Config
    mod = tool()
    for name in mod.RELEASE_CONFIGS.values():
        paper = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'rskt_seg', name)).to_dict()
        twin = Config.fromfile(osp.join(REPO_ROOT, 'configs', 'rskt_seg',
                                        name.replace('rskt-seg_', 'rskt-seg-release_'))).to_dict()
        assert twin['model']['dino']['pos_embed_resize'] == 'scale_factor'
        assert twin['model']['test_cfg']['release_pad_divisor'] == 32
        twin['model']['dino']['pos_embed_resize'] = paper['model']['dino']['pos_embed_resize']
        twin['model']['test_cfg']['release_pad_divisor'] = paper['model']['test_cfg']['release_pad_divisor']
        assert twin == paper, name
    # the pick itself, with the heavy steps stubbed (the key map is tested above on real release layouts)
    geo = dict(arch='ViT-B/16', num_layers=3, clip_width=768, embed_dim=512, cost_channels=4,
               separate_fusion=True, remote_clip=True, dino=True)
    monkeypatch.setattr(mod, 'expect_keys', lambda *a, **k: None)
    monkeypatch.setattr(mod, 'release_geometry', lambda sd: geo)
    monkeypatch.setattr(mod, 'check_config', lambda *a, **k: None)
    monkeypatch.setattr(mod, 'convert_state_dict', lambda sd, conv, source: ({}, SimpleNamespace(notes=[])))
    for mode, expected, options in (('release', 'rskt-seg-release_vit-b16_isaid.py', {}),
                                    ('paper', 'rskt-seg_vit-b16_isaid.py', {})):
        args = SimpleNamespace(src='x.pth', config=None, cfg_options=None, mode=mode, meta={})
        mod.convert({}, args)
        assert osp.basename(args.config) == expected and (args.cfg_options or {}) == options
    args = SimpleNamespace(src='x.pth', config='my_config.py', cfg_options=None, mode='release', meta={})
    mod.convert({}, args)  # an explicit config gets the release keys as options
    assert args.config == 'my_config.py' and args.cfg_options == mod.RELEASE_MODE

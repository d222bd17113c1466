"""tools/model_converters/fctl2mmseg.py: the FCtL authors' release (github.com/liqiokkk/FCtL) -> our FCtL.

The release's modules are rebuilt here from plain torch layers under the authors' names (``FCN8`` with its VGG16
trunk slices ``pool3/4/5`` cut from a ``vgg`` module, ``big_pool*``, ``big_attention``, ``output``, ``adj_pool*``,
``up_*``) with random values and saved the way the release saves them (``nn.DataParallel(model).state_dict()``).
The reference follows the release's geometry (``models/fcn.py``): conv1_1 padded by 100, ceil-mode pools, an
unpadded conv6, unpadded bilinear deconvolutions and the crop offsets 5 (pool4 score), 9 (pool3 score) and 31 (the
image). The converted weights must load strictly into the configs' models, every part must compute the reference's
function, and the whole model in the release-compatible mode (the configs the converter picks) must give the
release's logits within 1e-5 on square and non-square inputs, batch 1 and 2; the paper geometry with the same
weights must not. The patch grid is checked against the release's ``get_patch_info`` + ``np.round``.
"""
import importlib.util
import os.path as osp
import re
from typing import Optional

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from conftest import REPO_ROOT

TOOLS = osp.join(REPO_ROOT, 'tools', 'model_converters')
HID = 16  # conv6/conv7 width (4096 in the release; the layout is the same)
K = 2  # Inria: background / building
TINY = ['--cfg-options', f'model.decode_head.channels={HID}']  # the --config check at the tiny head width
_CACHE = {}


def tool():
    if 'mod' not in _CACHE:
        spec = importlib.util.spec_from_file_location('_conv_fctl2mmseg', osp.join(TOOLS, 'fctl2mmseg.py'))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _CACHE['mod'] = mod
    return _CACHE['mod']


# ---------------------------------------------------------------- the authors' layout, rebuilt
VGG16_CFG = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M')


def vgg16_features(first_padding: int = 100) -> nn.Sequential:
    """torchvision's ``vgg16().features`` layer list (indices 0..30) as FCN8 / MiniFCN8 alter it: ceil-mode pools
    and conv1_1 padded by 100 ("pad the input to enable small inputs and allow matching feature maps")."""
    layers, c = [], 3
    for v in VGG16_CFG:
        if v == 'M':
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=first_padding if not layers else 1), nn.ReLU(inplace=True)]
            c = v
    return nn.Sequential(*layers)


class RefFCtL(nn.Module):
    """The release's ``FCtL(512, 512)``: three cross-attention branches (y, z, x) and the sigmoid/softmax gates."""

    def __init__(self, c: int = 512):
        super().__init__()
        for s in ('', '_1', '_2'):
            setattr(self, 'conv_value' + s, nn.Conv2d(c, c, 1, bias=False))
            setattr(self, 'conv_query' + s, nn.Conv2d(c, c, 1))
            setattr(self, 'conv_key' + s, nn.Conv2d(c, c, 1))
            setattr(self, 'gamma' + s, nn.Parameter(torch.randn(1)))
        for i in (1, 2, 3):
            setattr(self, f'in_{i}', nn.Conv2d(c, c, 1))
            setattr(self, f'out_{i}', nn.Conv2d(c, c, 1))
        self.trans = nn.Conv2d(3 * c, 3 * c, 1)
        self.c = c

    def _branch(self, s: str, x, ctx):
        q = getattr(self, 'conv_query' + s)(x).flatten(2)
        k = getattr(self, 'conv_key' + s)(ctx).flatten(2)
        v = getattr(self, 'conv_value' + s)(ctx).flatten(2)
        attn = torch.softmax(torch.bmm(q.transpose(1, 2), k), dim=2)  # (B, N, N_ctx)
        out = torch.bmm(attn, v.transpose(1, 2)).transpose(1, 2).reshape(x.shape)
        return getattr(self, 'gamma' + s) * out

    def forward(self, x, y, z=None):
        if z is None:
            return x + self._branch('', x, y)
        sims = [self._branch('', x, y), self._branch('_1', x, z), self._branch('_2', x, x)]
        h = torch.cat([getattr(self, f'in_{i + 1}')(s) for i, s in enumerate(sims)], 1)
        parts = self.trans(h).split(self.c, 1)
        w = torch.stack([torch.sigmoid(getattr(self, f'out_{i + 1}')(p)) for i, p in enumerate(parts)]).softmax(0)
        return x + w[0] * sims[0] + w[1] * sims[1] + w[2] * sims[2]


def bilinear_deconv(k: int, size: int) -> nn.ConvTranspose2d:
    from rsseg_ext.models.decode_heads.fcn8s_head import bilinear_kernel
    d = nn.ConvTranspose2d(k, k, size, stride=size // 2, bias=False)
    with torch.no_grad():
        d.weight.zero_()
        for c in range(k):
            d.weight[c, c] = bilinear_kernel(size)
    return d


class RefFCN8(nn.Module):
    """The release's ``FCN8(num_classes, mode)`` module tree: mode 1 FCN-8s, 2 one context (the context trunk is
    the patch trunk's very modules), 3 three contexts (context pool5 maps given)."""

    def __init__(self, mode: int, k: int = K, hid: int = HID):
        super().__init__()
        self.mode = mode
        self.vgg = nn.Module()
        self.vgg.features = vgg16_features()
        self.vgg.classifier = nn.Sequential(nn.Linear(8, hid), nn.ReLU(), nn.Dropout(), nn.Linear(hid, hid),
                                            nn.ReLU(), nn.Dropout(), nn.Linear(hid, 10))
        f = list(self.vgg.features.children())
        self.pool3, self.pool4, self.pool5 = nn.Sequential(*f[:17]), nn.Sequential(*f[17:24]), nn.Sequential(*f[24:])
        if mode == 2:
            self.big_pool3 = nn.Sequential(*f[:17])
            self.big_pool4 = nn.Sequential(*f[17:24])
            self.big_pool5 = nn.Sequential(*f[24:])
        if mode in (2, 3):
            self.big_attention = RefFCtL()
        self.adj_pool3 = nn.Conv2d(256, k, 1)
        self.adj_pool4 = nn.Conv2d(512, k, 1)
        self.output = nn.Sequential(nn.Conv2d(512, hid, 7), nn.ReLU(), nn.Dropout(), nn.Conv2d(hid, hid, 1),
                                    nn.ReLU(), nn.Dropout(), nn.Conv2d(hid, k, 1))
        self.up_output, self.up_pool4_out, self.up_final = bilinear_deconv(k, 4), bilinear_deconv(k, 4), \
            bilinear_deconv(k, 16)

    def trunk(self, x, big: bool = False):
        p = 'big_pool' if big else 'pool'
        p3 = getattr(self, p + '3')(x)
        p4 = getattr(self, p + '4')(p3)
        return p3, p4, getattr(self, p + '5')(p4)

    def fused_pool5(self, x, y: Optional[torch.Tensor] = None, pool5_10=None, pool5_15=None):
        pool5 = self.trunk(x)[2]
        if self.mode == 2:
            pool5_10 = self.trunk(y, big=True)[2]
        return self.big_attention(pool5, pool5_10, pool5_15)

    def scores(self, pool3, pool4, pool5):
        """The score maps before the upsampling: s32 (conv6 unpadded), pool4 / pool3 scores."""
        return self.output(pool5), self.adj_pool4(0.01 * pool4), self.adj_pool3(1e-4 * pool3)

    def forward(self, x, pool5_10=None, pool5_15=None, y=None):
        """The release's ``FCN8.forward``: trunk, FCtL module on pool5 (mode 2: the context through ``big_pool*``;
        mode 3: the context trunks' pool5 maps given), then FCN-8s with the fixed crop offsets."""
        h, w = x.shape[-2:]
        pool3, pool4, pool5 = self.trunk(x)
        if self.mode == 2:
            pool5 = self.fused_pool5(x, y)
        elif self.mode == 3:
            pool5 = self.big_attention(pool5, pool5_10, pool5_15)
        s32, s16, s8 = self.scores(pool3, pool4, pool5)
        up = self.up_output(s32)
        up = self.up_pool4_out(s16[:, :, 5:5 + up.shape[2], 5:5 + up.shape[3]] + up)
        out = self.up_final(s8[:, :, 9:9 + up.shape[2], 9:9 + up.shape[3]] + up)
        return out[:, :, 31:31 + h, 31:31 + w]


def mini_fcn8(release_model: RefFCN8, y: torch.Tensor) -> torch.Tensor:
    """The release's ``MiniFCN8`` (the frozen context trunk of the final model) loaded from a B10 / B15 file: its
    ``big_pool3 -> big_pool4 -> big_pool5`` on the context input."""
    return release_model.trunk(y, big=True)[2]


def randomize(m: nn.Module, seed: int) -> nn.Module:
    """Random values at scales that keep 13 ReLU convs and the attention logits in a sane range."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in m.named_parameters():  # shared trunk tensors come once (under vgg.features)
            if n.startswith('up_'):
                continue  # the release's deconvs stay the fixed bilinear kernels
            fan = p[0].numel() if p.ndim > 1 else 1
            std = (2.0 / fan)**0.5 if n.startswith(('vgg.', 'pool', 'big_pool')) else fan**-0.5
            if re.search(r'conv_(query|key)', n):
                std *= 0.1
            p.copy_(torch.randn(p.shape, generator=g) * std)
    return m.eval()


def save_release(model: nn.Module, path) -> str:
    """As train_deep_globe.py: ``torch.save(nn.DataParallel(model).state_dict(), ...)``."""
    sd = nn.DataParallel(model).state_dict()
    assert all(k.startswith('module.') for k in sd)
    torch.save(sd, str(path))
    return str(path)


def ours(config: str, **overrides):
    tool()  # puts tools/model_converters on sys.path
    from _cli import build_model_from_config
    opts = {'model.decode_head.channels': HID, **overrides}
    return build_model_from_config(osp.join(REPO_ROOT, config), opts).eval()


def load_converted(path) -> dict:
    ckpt = torch.load(str(path), map_location='cpu', weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    return ckpt['state_dict']


@pytest.fixture(scope='module')
def release(tmp_path_factory):
    torch.manual_seed(0)
    d = tmp_path_factory.mktemp('fctl_release')
    models = {'all': randomize(RefFCN8(3), 1), 'B10': randomize(RefFCN8(2), 2), 'B15': randomize(RefFCN8(2), 3),
              'Bfcn': randomize(RefFCN8(1), 4)}
    paths = {n: save_release(m, d / f'{n}.epoch.pth') for n, m in models.items()}
    return models, paths, d


def assert_head_same(ref: RefFCN8, model) -> None:
    """conv6 -> conv7 -> score and the skip scores: ours (release geometry: conv6 unpadded) = the release's."""
    g = torch.Generator().manual_seed(5)
    p3, p4, p5 = (torch.randn(1, c, s, s, generator=g) for c, s in ((256, 36), (512, 18), (512, 9)))
    head = model.decode_head
    assert head.geometry == 'release'
    with torch.no_grad():
        s32, s4, s3 = ref.scores(p3, p4, p5)
        h = F.relu(head.conv7(F.relu(head.conv6(p5))))
        torch.testing.assert_close(head.conv_seg(h), s32, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(head.score_pool4(p4 * head.skip_scales[1]), s4, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(head.score_pool3(p3 * head.skip_scales[0]), s3, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- tests
def test_three_context_release_with_its_context_trunks(release, tmp_path, capsys):
    models, paths, _ = release
    dst = tmp_path / 'fctl.pth'
    rc = tool().main([paths['all'], str(dst), '--medium', paths['B10'], '--large', paths['B15']] + TINY)
    out = capsys.readouterr().out
    assert rc == 0, out
    assert 'source keys not used (0)' in out and 'target keys left unset (0)' in out
    assert 'fctl-iccv_vgg16_inria.py' in out and 'result: OK' in out
    sd = load_converted(dst)
    model = ours('configs/fctl/fctl-iccv_vgg16_inria.py')
    res = model.load_state_dict(sd, strict=True)
    assert not res.missing_keys and not res.unexpected_keys
    ref, b10, b15 = models['all'], models['B10'], models['B15']
    g = torch.Generator().manual_seed(6)
    x, y, z = (torch.randn(1, 3, 32, 32, generator=g) for _ in range(3))
    with torch.no_grad():
        # the trunks: patch (all.epoch.pth), medium (B10's big_pool*), large (B15's big_pool*)
        feats = model.backbone(x)
        for a, b in zip(feats, ref.trunk(x)):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
        fy, fz = model.context_features(0, y), model.context_features(1, z)
        torch.testing.assert_close(fy, b10.trunk(y, big=True)[2], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(fz, b15.trunk(z, big=True)[2], rtol=1e-5, atol=1e-5)
        # the fusion: LCC x3 + MCF on pool5 (branch order and trans blocks permuted to contexts (1, 2, 3))
        x5 = feats[-1]
        boxes = model.branch_boxes(model.default_ctx_boxes(1))
        fused = model.fusion(x5, [x5, fy, fz], boxes)
        torch.testing.assert_close(fused, ref.big_attention(x5, fy, fz), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(fused, ref.fused_pool5(x, pool5_10=fy, pool5_15=fz), rtol=1e-5, atol=1e-5)
    assert_head_same(ref, model)


@pytest.mark.parametrize('name,ctx', [('B10', 2), ('B15', 3)])
def test_single_context_release(release, tmp_path, capsys, name, ctx):
    models, paths, _ = release
    dst = tmp_path / f'{name}.pth'
    assert tool().main([paths[name], str(dst)] + TINY) == 0
    out = capsys.readouterr().out
    assert f'single-ctx-x{ctx}_inria.py' in out and 'source keys not used (0)' in out, out
    assert 'never run with one context' in out and 'target keys left unset (0)' in out
    sd = load_converted(dst)
    model = ours(f'configs/fctl/staged/fctl-iccv_vgg16_single-ctx-x{ctx}_inria.py')
    res = model.load_state_dict(sd, strict=True)
    assert not res.missing_keys and not res.unexpected_keys
    ref = models[name]
    g = torch.Generator().manual_seed(7)
    x, y = torch.randn(2, 3, 32, 32, generator=g), torch.randn(2, 3, 32, 32, generator=g)
    with torch.no_grad():
        feats = model.extract_feat(torch.cat([x, y], 1))  # patch + its context, stacked as in training
        ref_feats = ref.trunk(x)
        torch.testing.assert_close(feats[0], ref_feats[0], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(feats[1], ref_feats[1], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(feats[2], ref.fused_pool5(x, y), rtol=1e-5, atol=1e-5)
    assert_head_same(ref, model)


def test_fcn8s_baseline_without_module_prefix(release, tmp_path, capsys):
    models, _, d = release
    plain = d / 'Bfcn_plain.pth'
    torch.save(models['Bfcn'].state_dict(), str(plain))  # also accepted without DataParallel's module.
    dst = tmp_path / 'bfcn.pth'
    assert tool().main([str(plain), str(dst)] + TINY) == 0
    out = capsys.readouterr().out
    assert 'fcn8s-iccv_vgg16_inria.py' in out and 'source keys not used (0)' in out, out
    model = ours('configs/fctl/staged/fcn8s-iccv_vgg16_inria.py')
    model.load_state_dict(load_converted(dst), strict=True)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        for a, b in zip(model.backbone(x), models['Bfcn'].trunk(x)):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert_head_same(models['Bfcn'], model)


def test_trans_block_permutation_is_exact():
    t = torch.arange(36.0).reshape(6, 6, 1, 1)
    p = tool().permute_blocks((2, 0, 1))(t)
    # our block 0 (the patch) is their block 2, our 1 their 0, our 2 their 1, on inputs and outputs alike
    torch.testing.assert_close(p[0:2, 0:2], t[4:6, 4:6])
    torch.testing.assert_close(p[2:4, 4:6], t[0:2, 2:4])
    torch.testing.assert_close(tool().permute_blocks((2, 0, 1))(torch.arange(6.0)), torch.tensor([4., 5, 0, 1, 2, 3]))


def test_errors_wrong_file_missing_file_and_missing_context_trunks(release, tmp_path, capsys):
    models, paths, d = release
    mod = tool()
    # not an FCtL checkpoint: a torchvision VGG16 state dict
    vgg = {'features.' + k: v for k, v in vgg16_features().state_dict().items()}
    bad = str(tmp_path / 'vgg16.pth')
    torch.save(vgg, bad)
    assert mod.main([bad, str(tmp_path / 'x.pth')]) == 2
    err = capsys.readouterr().err
    assert 'does not look like an FCtL release checkpoint' in err and 'features.0.weight' in err
    # the older DeepGlobe commit's layout is named and refused
    dg = {'module.pool3.0.weight': torch.zeros(1), 'module.local.conv_query.weight': torch.zeros(1)}
    torch.save(dg, str(tmp_path / 'dg.pth'))
    assert mod.main([str(tmp_path / 'dg.pth'), str(tmp_path / 'x.pth')]) == 2
    assert 'older DeepGlobe commit' in capsys.readouterr().err
    # a missing file
    assert mod.main([str(tmp_path / 'nope.pth'), str(tmp_path / 'x.pth')]) == 2
    assert 'nope.pth' in capsys.readouterr().err
    # all.epoch.pth without its context trunks: reported, not written
    assert mod.main([paths['all'], str(tmp_path / 'x.pth')] + TINY) == 1
    cap = capsys.readouterr()
    assert 'context_backbones.0' in cap.out and '--medium B10.epoch.pth' in cap.out
    assert not osp.exists(tmp_path / 'x.pth')
    # a context file that has no context trunk, and --kind disagreeing with the keys
    assert mod.main([paths['all'], str(tmp_path / 'x.pth'), '--medium', paths['Bfcn'], '--large', paths['B15']]) == 2
    assert 'big_pool' in capsys.readouterr().err
    assert mod.main([paths['B10'], str(tmp_path / 'x.pth'), '--kind', 'three']) == 2
    assert "'single' checkpoint" in capsys.readouterr().err
    assert not osp.exists(tmp_path / 'x.pth')


# ---------------------------------------------------------------- release-compatible mode: the release's logits
SHAPES = {'square': (32, 32), 'non-square': (32, 48)}  # pad 100 makes the trunks see 230 x 230 / 230 x 246


@pytest.fixture(scope='module')
def three_context(release, tmp_path_factory):
    """all + B10 + B15 converted by the tool; our model of the config it picks (the release-compatible mode)."""
    _, paths, _ = release
    dst = tmp_path_factory.mktemp('fctl_three') / 'fctl.pth'
    assert tool().main([paths['all'], str(dst), '--medium', paths['B10'], '--large', paths['B15']] + TINY) == 0
    sd = load_converted(dst)
    model = ours('configs/fctl/fctl-iccv_vgg16_inria.py')
    model.load_state_dict(sd, strict=True)
    return sd, model


def our_logits(model, x: torch.Tensor, contexts) -> torch.Tensor:
    """Our segmentor on a patch and its context crops, stacked as in training: full-size logits."""
    b, _, h, w = x.shape
    metas = [dict(img_shape=(h, w), ori_shape=(h, w)) for _ in range(b)]
    with torch.no_grad():
        return model.encode_decode(torch.cat([x, *contexts], 1), metas)


def inputs(batch: int, shape: str, n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(batch, 3, *SHAPES[shape], generator=g) for _ in range(n)]  # [0, 1] RGB, as ToTensor


@pytest.mark.parametrize('batch', [1, 2])
@pytest.mark.parametrize('shape', ['square', 'non-square'])
def test_release_mode_gives_the_release_logits(release, three_context, shape, batch):
    """all.epoch.pth + the MiniFCN8 context trunks of B10 / B15, as the release's Evaluator runs them."""
    models = release[0]
    _, model = three_context
    x, y, z = inputs(batch, shape, 3, seed=10 + batch)
    with torch.no_grad():
        ref = models['all'](x, mini_fcn8(models['B10'], y), mini_fcn8(models['B15'], z))
    mine = our_logits(model, x, (y, z))
    assert ref.shape == mine.shape == (batch, K, *SHAPES[shape])
    assert ref.std() > 1e-2  # logits that vary: the comparison below is not vacuous
    torch.testing.assert_close(mine, ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize('name,config,shape,batch', [
    ('B15', 'staged/fctl-iccv_vgg16_single-ctx-x3_inria.py', 'non-square', 2),
    ('Bfcn', 'staged/fcn8s-iccv_vgg16_inria.py', 'square', 1),
])
def test_release_mode_single_context_and_fcn8s(release, tmp_path, name, config, shape, batch):
    models, paths, _ = release
    dst = tmp_path / f'{name}.pth'
    assert tool().main([paths[name], str(dst)] + TINY) == 0
    model = ours(f'configs/fctl/{config}')
    model.load_state_dict(load_converted(dst), strict=True)
    x, y = inputs(batch, shape, 2, seed=20)
    with torch.no_grad():
        ref = models[name](x, y=y) if name != 'Bfcn' else models[name](x)
    mine = our_logits(model, x, (y, ) if name != 'Bfcn' else ())
    assert ref.shape == mine.shape and ref.std() > 1e-2
    torch.testing.assert_close(mine, ref, rtol=0, atol=1e-5)


def test_paper_geometry_with_release_weights_is_not_the_release(release, three_context):
    """The same converted weights in the paper geometry (padding-1 VGG16, padded conv6, top-left crops) load
    (the geometry has no parameters) but do not compute the release's function."""
    models = release[0]
    sd, _ = three_context
    model = ours('configs/fctl/fctl-iccv_vgg16_inria.py',
                 **{'model.backbone.stem_padding': 1, 'model.decode_head.geometry': 'paper'})
    model.load_state_dict(sd, strict=True)
    x, y, z = inputs(1, 'non-square', 3, seed=30)
    with torch.no_grad():
        ref = models['all'](x, mini_fcn8(models['B10'], y), mini_fcn8(models['B15'], z))
    mine = our_logits(model, x, (y, z))
    assert mine.shape == ref.shape
    assert (mine - ref).abs().max() > 100 * 1e-5  # far outside the tolerance the release mode meets
    with pytest.raises(AssertionError):
        torch.testing.assert_close(mine, ref, rtol=0, atol=1e-5)


def release_patch_starts(size: int, p: int = 508) -> list:
    """``helper.py`` of the release: ``get_patch_info`` (n patches, float step) and ``global2patch``'s
    ``int(np.round(k * step))``, the last patch at ``size - p``."""
    n = 1
    while size > n * p:
        n += 1
    while p - 1.0 * (size - p) / (n - 1) < 50:
        n += 1
    step = (size - p) * 1.0 / (n - 1)
    return [int(np.round(k * step)) if k < n - 1 else size - p for k in range(n)]


def test_release_mode_patch_grid_is_the_release_grid(three_context):
    from rsseg_ext.utils.grid import uhr_positions
    sides = range(509, 6001)
    assert all(uhr_positions(s, 508, 50, 'half_even') == release_patch_starts(s) for s in sides)
    differ = [s for s in sides if uhr_positions(s, 508) != release_patch_starts(s)]
    assert len(differ) == 1180  # half-up (the paper configs) vs np.round's half-to-even
    _, model = three_context  # the converter's config uses the release's rounding
    h, w = differ[0], differ[1]
    starts = release_patch_starts(h), release_patch_starts(w)
    assert model.patch_grid(h, w) == [(y, x, y + 508, x + 508) for y in starts[0] for x in starts[1]]


def release_whole_image(model: RefFCN8, img: torch.Tensor, p: int) -> torch.Tensor:
    """The release's ``Evaluator.eval_test`` for a mode-1 model without flips (validation): ``global2patch`` (the
    np.round grid), the model per patch, ``patch2global`` (a plain sum of the patch logits)."""
    h, w = img.shape[-2:]
    scores = torch.zeros(model.adj_pool3.out_channels, h, w)
    for top in release_patch_starts(h, p):
        for left in release_patch_starts(w, p):
            with torch.no_grad():
                scores[:, top:top + p, left:left + p] += model(img[None, :, top:top + p, left:left + p])[0]
    return scores


def test_release_mode_whole_image_is_the_release_procedure(release, tmp_path):
    """Bfcn on an 81 x 70 image with 64-pixel patches: rows at (0, 8, 17) -- k * 8.5 rounded half to even, as
    np.round; half up would give 9 -- summed like the release's patch2global (test_cfg.merge='sum')."""
    models, paths, _ = release
    dst = tmp_path / 'bfcn.pth'
    assert tool().main([paths['Bfcn'], str(dst)] + TINY) == 0
    model = ours('configs/fctl/staged/fcn8s-iccv_vgg16_inria.py',
                 **{'model.test_cfg.patch_size': 64, 'model.patch_size': 64})
    model.load_state_dict(load_converted(dst), strict=True)
    assert release_patch_starts(81, 64) == [0, 8, 17] and model.patch_grid(81, 70)[2][0] == 8
    img = torch.rand(3, 81, 70, generator=torch.Generator().manual_seed(40))
    ref = release_whole_image(models['Bfcn'], img, 64)
    with torch.no_grad():
        mine = model.uhr_inference(img[None])[0]
    torch.testing.assert_close(mine, ref, rtol=0, atol=1e-5)


def release_eval_test_d4(net, img: torch.Tensor, p: int, k: int) -> torch.Tensor:
    """The release's ``Evaluator.eval_test`` with ``val=False`` (test.sh): for flip in (False, True) -- the flipped
    pass first rotates the 270-degree image once more (back to 0) and mirrors it -- and for 4 successive
    counter-clockwise quarter turns (``transforms.functional.rotate(img, 90)``, square images), the summed grid
    prediction is turned back with ``np.rot90(k=angle, axes=(3, 2))`` (clockwise) and mirrored back for the flip."""
    scores = torch.zeros(k, *img.shape[-2:])
    cur = img
    for flip in (False, True):
        if flip:
            cur = torch.rot90(cur, 1, dims=(1, 2)).flip(2)
        for angle in range(4):
            if angle > 0:
                cur = torch.rot90(cur, 1, dims=(1, 2))
            h, w = cur.shape[-2:]
            s = torch.zeros(k, h, w)
            for top in release_patch_starts(h, p):
                for left in release_patch_starts(w, p):
                    s[:, top:top + p, left:left + p] += net(cur[None, :, top:top + p, left:left + p])[0]
            back = torch.rot90(s, angle, dims=(2, 1))
            scores += back.flip(2) if flip else back
    return scores


def test_release_mode_d4_tta_and_merge_are_the_release_procedure(release, tmp_path):
    """The whole-image procedure alone (grid, sum merge, 8-fold TTA), with a cheap stand-in for the network that is
    neither rotation- nor flip-equivariant: on an 81 x 81 image (rows and columns 0 / 8 / 17; a rotated pass sees
    0 / 9 / 17 in the original frame) ours equals the release's eval_test; the mean merge does not."""
    models, paths, _ = release
    model = ours('configs/fctl/staged/fcn8s-iccv_vgg16_inria.py',
                 **{'model.test_cfg.patch_size': 64, 'model.patch_size': 64, 'model.test_cfg.tta': 'd4'})
    g = torch.Generator().manual_seed(50)
    kernel, ramp = torch.randn(K, 3, 3, 3, generator=g), torch.linspace(0, 1, 64)

    def net(x):  # (B, 3, 64, 64) -> (B, K, 64, 64); the ramp breaks every symmetry
        return F.conv2d(x, kernel, padding=1) + ramp.view(1, 1, 1, -1) * torch.arange(1.0, K + 1).view(1, K, 1, 1)

    model.forward_patches = lambda patches, contexts, boxes, feats=None: net(patches)
    img = torch.rand(3, 81, 81, generator=g)
    ref = release_eval_test_d4(net, img, 64, K)
    with torch.no_grad():
        mine = model.uhr_inference(img[None])[0]
        # sums of 8 passes x up to 4 overlapping patches (values up to ~100s): float32 rounding, relative 1e-6
        torch.testing.assert_close(mine, ref, rtol=0, atol=1e-6 * ref.abs().max().item())
        model.test_cfg['merge'] = 'mean'
        assert (model.uhr_inference(img[None])[0] - ref).abs().max() > 1e-2

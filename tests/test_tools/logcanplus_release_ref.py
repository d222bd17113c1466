"""The LOGCAN++ release as its public code computes it (github.com/xwmaxwma/rssegmentation: ``myModel`` =
``backbone`` (RepViT of ``rsseg/models/backbones/repvit.py``) + ``seghead`` (``LoGCANPlus_Head`` of
``rsseg/models/segheads/logcanplus_head.py``) + ``classifier`` (``Base_Classifier``) + ``upsample`` (``Interpolate``,
scales [4, 32])), re-written here for the tests: same module names (so ``state_dict()`` has the release's key
layout) and the same tensor operations, including its reshapes, its normalised-coordinate window geometry and its
``repeat`` (not ``repeat_interleave``) of class probabilities and global centres, which mixes images when B > 1.
Nothing here is imported by the package.
"""
from typing import List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import SqueezeExcite  # what the release's RepViT imports (timm.models.layers alias)


# ---------------------------------------------------------------- RepViT (the RepViT authors' flat layout)
class ConvBN(nn.Sequential):
    """``Conv2d_BN``: children ``c`` (no bias) and ``bn``."""

    def __init__(self, i: int, o: int, k: int = 1, s: int = 1, p: int = 0, groups: int = 1) -> None:
        super().__init__()
        self.add_module('c', nn.Conv2d(i, o, k, s, p, groups=groups, bias=False))
        self.add_module('bn', nn.BatchNorm2d(o))


class Residual(nn.Module):
    def __init__(self, m: nn.Module) -> None:
        super().__init__()
        self.m = m

    def forward(self, x):
        return x + self.m(x)


class RepVGGDW(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = ConvBN(c, c, 3, 1, 1, groups=c)
        self.conv1 = nn.Conv2d(c, c, 1, 1, 0, groups=c)
        self.bn = nn.BatchNorm2d(c)

    def forward(self, x):
        return self.bn(self.conv(x) + self.conv1(x) + x)


class Block(nn.Module):
    """One entry of ``cfgs`` (k, t, c, use_se, use_hs, s); GELU whatever ``use_hs``."""

    def __init__(self, inp: int, oup: int, k: int, s: int, se: bool) -> None:
        super().__init__()
        se_layer = SqueezeExcite(inp, 0.25) if se else nn.Identity()
        if s == 2:
            self.token_mixer = nn.Sequential(ConvBN(inp, inp, k, 2, (k - 1) // 2, groups=inp), se_layer,
                                             ConvBN(inp, oup))
        else:
            assert inp == oup
            self.token_mixer = nn.Sequential(RepVGGDW(inp), se_layer)
        self.channel_mixer = Residual(nn.Sequential(ConvBN(oup, 2 * oup), nn.GELU(), ConvBN(2 * oup, oup)))

    def forward(self, x):
        return self.channel_mixer(self.token_mixer(x))


class RepViTRelease(nn.Module):
    def __init__(self, cfgs: Sequence[Sequence[int]], out_indices: Sequence[int]) -> None:
        super().__init__()
        c0 = cfgs[0][2]
        layers: List[nn.Module] = [nn.Sequential(ConvBN(3, c0 // 2, 3, 2, 1), nn.GELU(), ConvBN(c0 // 2, c0, 3, 2, 1))]
        inp = c0
        for k, _t, c, se, _hs, s in cfgs:
            layers.append(Block(inp, c, k, s, bool(se)))
            inp = c
        self.features = nn.ModuleList(layers)
        self.out_indices = list(out_indices)

    def forward(self, x):
        outs = []
        for i, f in enumerate(self.features):
            x = f(x)
            if i in self.out_indices:
                outs.append(x)
        return outs


# the release's repvit_m2_3 list: 7 x 80 (SE 1,0,1,0,1,0,0), 8 x 160 (first stride 2), 36 x 320, 3 x 640
M2_3_CFGS = ([[3, 2, 80, i % 2 == 0 and i < 6, 0, 1] for i in range(7)]
             + [[3, 2, 160, 0, 0, 2]] + [[3, 2, 160, i % 2 == 0 and i < 6, 0, 1] for i in range(7)]
             + [[3, 2, 320, 0, 1, 2]] + [[3, 2, 320, i % 2 == 0 and i < 34, 1, 1] for i in range(35)]
             + [[3, 2, 640, 0, 1, 2], [3, 2, 640, 1, 1, 1], [3, 2, 640, 0, 1, 1]])
M2_3_OUT = [7, 15, 51, 54]
# a tiny model of the same pattern: per stage SE-alternating blocks, then an SE-free block before each stride 2
TINY_CFGS = [[3, 2, 16, 1, 0, 1], [3, 2, 16, 0, 0, 1], [3, 2, 16, 0, 0, 1],
             [3, 2, 32, 0, 0, 2], [3, 2, 32, 1, 0, 1], [3, 2, 32, 0, 0, 1],
             [3, 2, 48, 0, 1, 2], [3, 2, 48, 1, 1, 1], [3, 2, 48, 0, 1, 1], [3, 2, 48, 0, 1, 1],
             [3, 2, 64, 0, 1, 2], [3, 2, 64, 1, 1, 1]]
TINY_OUT = [3, 6, 10, 12]
TINY_TIMM = dict(embed_dims=[16, 32, 48, 64], depths=[2, 1, 2, 1])  # the same network in timm's grouping


# ---------------------------------------------------------------- LoGCANPlus_Head
def cbr(i: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(i, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


def split_windows(x, grid):
    """(B, C, H, W) -> (B * gh * gw, C, H / gh, W / gw), windows row-major per image."""
    b, c, h, w = x.shape
    gh, gw = grid
    return x.view(b, c, gh, h // gh, gw, w // gw).permute(0, 2, 4, 1, 3, 5).reshape(-1, c, h // gh, w // gw)


def merge_windows(x, grid):
    n, c, wh, ww = x.shape
    gh, gw = grid
    return x.view(n // (gh * gw), gh, gw, c, wh, ww).permute(0, 3, 1, 4, 2, 5).reshape(-1, c, gh * wh, gw * ww)


class RVSA_MRAM(nn.Module):  # noqa: N801 -- the release's class name
    def __init__(self, dim: int, num_heads: int, num_classes: int, patch_size=(4, 4)) -> None:
        super().__init__()
        self.feat_decoder = nn.Conv2d(dim, num_classes, 1)
        self.patch_size, self.num_heads, self.dim = tuple(patch_size), num_heads, dim
        for name, n in (('sampling_offsets', 2), ('sampling_scales', 2), ('sampling_angles', 1)):
            setattr(self, name, nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.LeakyReLU(),
                                              nn.Conv2d(dim, num_heads * n, 1)))
        self.scale = (dim // num_heads)**-0.5
        self.q, self.k, self.v, self.out_project = (nn.Linear(dim, dim) for _ in range(4))
        self.cat_conv = nn.Sequential(cbr(2 * dim, dim), nn.Dropout2d(0.1), cbr(dim, dim), nn.Dropout2d(0.1))

    def _per_head(self, seq, patches, b, gh, gw, n):
        """(B*nW, heads*n, 1, 1) -> (B*heads, n, gh, gw), as the release reshapes it."""
        return seq(patches).reshape(b, gh, gw, self.num_heads, n).permute(0, 3, 4, 1, 2).reshape(-1, n, gh, gw)

    def forward(self, x, global_center):
        b, c, h, w = x.shape
        heads, (gh, gw) = self.num_heads, self.patch_size
        wh, ww = h // gh, w // gw
        probs = F.softmax(self.feat_decoder(x).view(b, -1, h * w), dim=2).view(b, -1, h, w)
        k = probs.shape[1]
        patches = split_windows(x, self.patch_size)
        # reference grid: linspace(-1, 1) per axis, channel 0 = x (columns), channel 1 = y (rows)
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing='ij')
        image_ref = torch.stack([xs, ys])[None]  # 1, 2, H, W
        window_ref = F.avg_pool2d(image_ref, (wh, ww)).reshape(1, 2, gh, 1, gw, 1)
        base_y = torch.arange(wh) * 2 / (h - 1)
        base_x = torch.arange(ww) * 2 / (w - 1)
        base_y, base_x = base_y - base_y.mean(), base_x - base_x.mean()
        wy, wx = torch.meshgrid(base_y.repeat(gh), base_x.repeat(gw), indexing='ij')
        window = torch.stack([wx, wy]).reshape(1, 2, gh, wh, gw, ww)
        offsets = self._per_head(self.sampling_offsets, patches, b, gh, gw, 2).clone()
        offsets[:, 0] = offsets[:, 0] / (h // gh)  # x offset over the window HEIGHT, as released
        offsets[:, 1] = offsets[:, 1] / (w // gw)
        scales = self._per_head(self.sampling_scales, patches, b, gh, gw, 2)
        angle = self._per_head(self.sampling_angles, patches, b, gh, gw, 1)[:, 0, :, None, :, None]
        window = window * (scales[:, :, :, None, :, None] + 1)
        rx = window[:, 0] * torch.cos(angle) - window[:, 1] * torch.sin(angle)
        ry = window[:, 1] * torch.cos(angle) + window[:, 0] * torch.sin(angle)
        coords = window_ref + torch.stack([rx, ry], 1) + offsets[:, :, :, None, :, None]
        grid = coords.permute(0, 2, 3, 4, 5, 1).reshape(b * heads, h, w, 2)

        def sample(src, ch):  # grid_sample -> (B*heads*nW, wh*ww, ch), (batch*head)-major, then window
            out = F.grid_sample(src, grid, padding_mode='zeros', align_corners=True)
            return out.reshape(b * heads, ch, gh, wh, gw, ww).permute(0, 2, 4, 3, 5, 1).reshape(-1, wh * ww, ch)

        key = self.k(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        t_key = sample(key.reshape(b * heads, c // heads, h, w), c // heads)
        t_probs = sample(probs.repeat(heads, 1, 1, 1), k)  # repeat: image index = n % B (mixes when B > 1)
        local = (t_probs.transpose(1, 2) @ t_key).reshape(b * gh * gw, heads, k, -1)  # head-major read window-major
        query = x.reshape(b, c, gh, wh, gw, ww).permute(0, 2, 4, 3, 5, 1).reshape(-1, wh * ww, c)
        query = self.q(query).transpose(1, 2).reshape(b * gh * gw, heads, c // heads, wh * ww).transpose(2, 3)
        value = self.v(global_center.repeat(gh * gw, 1, 1))  # repeat: image index = row % B
        value = value.transpose(1, 2).reshape(b * gh * gw, heads, c // heads, k).transpose(2, 3)
        attn = (query @ local.transpose(2, 3) * self.scale).softmax(-1)
        out = (attn @ value).transpose(2, 3).reshape(b * gh * gw, c, -1).transpose(1, 2)
        out = self.out_project(out).transpose(1, 2).reshape(-1, c, wh, ww)
        return self.cat_conv(torch.cat([x, merge_windows(out, self.patch_size)], dim=1))


class LoGCANPlusHead(nn.Module):
    def __init__(self, transform_channel: int, in_channel: Sequence[int], num_class: int, num_heads: int,
                 patch_size=(4, 4)) -> None:
        super().__init__()
        t = transform_channel
        for i, c in enumerate(in_channel):
            setattr(self, f'bottleneck{i + 1}', cbr(c, t))
            setattr(self, f'center{i + 1}', RVSA_MRAM(t, num_heads, num_class, patch_size))
        self.decoder_stage1 = nn.Conv2d(t, num_class, 1)
        for i in (1, 2, 3):
            setattr(self, f'catconv{i}', cbr(2 * t, t))
        self.catconv = cbr(t, t)

    def forward(self, xs):
        f = [getattr(self, f'bottleneck{i + 1}')(x) for i, x in enumerate(xs)]
        pred1 = self.decoder_stage1(f[3])
        b, k = pred1.shape[:2]
        gc = F.softmax(pred1.view(b, k, -1), dim=2) @ f[3].view(b, f[3].shape[1], -1).transpose(1, 2)

        def up_cat(small, big):
            return torch.cat([F.interpolate(small, scale_factor=2, mode='bilinear', align_corners=False), big], 1)

        n4 = self.center4(f[3], gc)
        n3 = self.center3(self.catconv1(up_cat(n4, f[2])), gc)
        n2 = self.center2(self.catconv2(up_cat(n3, f[1])), gc)
        n1 = self.center1(self.catconv3(up_cat(n2, f[0])), gc)

        def up(x, s):
            return F.interpolate(x, scale_factor=s, mode='bilinear', align_corners=False)

        return [self.catconv(n1 + up(n2, 2) + up(n3, 4) + up(n4, 8)), pred1]


class Classifier(nn.Module):
    def __init__(self, t: int, k: int) -> None:
        super().__init__()
        self.classifier = nn.Conv2d(t, k, 1)

    def forward(self, out):
        return [self.classifier(out[0])] + out[1:]


class MyModel(nn.Module):
    """``myModel``: backbone -> seghead -> classifier -> Interpolate(scale=[4, 32]) (bilinear)."""

    def __init__(self, cfgs, out_indices, in_channel, t: int, k: int, heads: int, patch_size=(4, 4)) -> None:
        super().__init__()
        self.backbone = RepViTRelease(cfgs, out_indices)
        self.seghead = LoGCANPlusHead(t, in_channel, k, heads, patch_size)
        self.classifier = Classifier(t, k)

    def forward(self, x):
        out = self.classifier(self.seghead(self.backbone(x)))
        return [F.interpolate(o, scale_factor=s, mode='bilinear') for o, s in zip(out, (4, 32))]


def randomise_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random values in every parameter and BN buffer (the release zero-initialises offsets / scales), scaled by
    fan-in so that activations stay O(1) through the network (saturated softmaxes would hide differences)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith('num_batches_tracked'):
                continue
            if name.endswith('running_var'):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif t.ndim >= 2:
                t.copy_(torch.randn(t.shape, generator=g) / t[0].numel()**0.5)
            elif name.endswith('weight'):  # BatchNorm scale
                t.copy_(1 + 0.1 * torch.randn(t.shape, generator=g))
            else:  # biases, running means
                t.copy_(0.1 * torch.randn(t.shape, generator=g))
    return model.eval()


def calibrate_bn_(model: nn.Module, x: torch.Tensor) -> nn.Module:
    """Set every BatchNorm's running statistics to the batch statistics of ``x`` (then eval): random weights
    with random statistics let activations grow to ~1e3 through 12+ residual blocks, where saturated softmaxes
    turn float rounding into visible differences; trained networks are normalised like this."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batch
    model.train()
    with torch.no_grad():
        model(x)
    return model.eval()

"""The D2LS release as its public code computes it (github.com/XavierJiezou/D2LS, ``network/models/d2ls.py``:
``DynamicDictionaryLearning`` with a torchvision ConvNeXt hooked at ``features[1, 3, 5, 7]``; loss: GeoSeg's
``UnetFormerLoss`` as ``config/loveda/d2ls.py`` uses it), re-written here for the tests with the release's module
names (so ``state_dict()`` has its key layout) and its operations: per-pixel Linear projections, deepest-first
concatenation, grouped ``conv1d`` mixing per image, the SAM-style two-way blocks whose self-attention and MLP are
built but never run, the ``last_line`` and ``has_conv`` variants. Nothing here is imported by the package.
"""
import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerNorm2d(nn.Module):
    def __init__(self, c: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight, self.bias, self.eps = nn.Parameter(torch.ones(c)), nn.Parameter(torch.zeros(c)), eps

    def forward(self, x):
        mu = x.mean(1, keepdim=True)
        var = (x - mu).pow(2).mean(1, keepdim=True)
        return self.weight[:, None, None] * (x - mu) / torch.sqrt(var + self.eps) + self.bias[:, None, None]


class MLP(nn.Module):
    def __init__(self, i: int, hid: int, o: int, n: int) -> None:
        super().__init__()
        dims = [i] + [hid] * (n - 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, [hid] * (n - 1) + [o]))

    def forward(self, x):
        for j, layer in enumerate(self.layers):
            x = layer(x) if j == len(self.layers) - 1 else F.relu(layer(x))
        return x


class FeatureMLP(nn.Module):
    """(B, C, h, w) -> (B, h*w, C') by a Linear per pixel."""

    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.proj = nn.Linear(i, o)

    def forward(self, x):
        return self.proj(x.flatten(2).transpose(1, 2))


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, down: int = 1) -> None:
        super().__init__()
        inner = dim // down
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj = (nn.Linear(dim, inner) for _ in range(3))
        self.out_proj = nn.Linear(inner, dim)

    def forward(self, q, k, v):
        def split(t):
            b, n, c = t.shape
            return t.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

        q, k, v = split(self.q_proj(q)), split(self.k_proj(k)), split(self.v_proj(v))
        attn = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(q.shape[-1]), dim=-1)
        out = (attn @ v).transpose(1, 2)
        return self.out_proj(out.reshape(out.shape[0], out.shape[1], -1))


class MLPBlock(nn.Module):
    def __init__(self, dim: int, hid: int) -> None:
        super().__init__()
        self.lin1, self.lin2 = nn.Linear(dim, hid), nn.Linear(hid, dim)


class InteractorBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_dim: int = 2048, down: int = 2) -> None:
        super().__init__()
        self.self_attn = Attention(dim, heads)  # built, never run
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn_token_to_image = Attention(dim, heads, down)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLPBlock(dim, mlp_dim)  # built, never run
        self.norm3 = nn.LayerNorm(dim)
        self.norm4 = nn.LayerNorm(dim)
        self.cross_attn_image_to_token = Attention(dim, heads, down)

    def forward(self, queries, keys, query_pe, key_pe):
        queries = self.norm2(queries + self.cross_attn_token_to_image(queries + query_pe, keys + key_pe, keys))
        keys = self.norm4(keys + self.cross_attn_image_to_token(keys + key_pe, queries + query_pe, queries))
        return queries, keys


class Interactor(nn.Module):
    def __init__(self, l: int, dim: int, heads: int, mlp_dim: int = 2048, down: int = 2) -> None:  # noqa: E741
        super().__init__()
        self.layers = nn.ModuleList(InteractorBlock(dim, heads, mlp_dim, down) for _ in range(l))
        self.final_attn_token_to_image = Attention(dim, heads, down)
        self.norm_final_attn = nn.LayerNorm(dim)

    def forward(self, image, image_pe, tokens):
        keys = image.flatten(2).transpose(1, 2)
        pe = image_pe.flatten(2).transpose(1, 2)
        queries = tokens
        for layer in self.layers:
            queries, keys = layer(queries, keys, tokens, pe)
        queries = self.norm_final_attn(queries + self.final_attn_token_to_image(queries + tokens, keys + pe, keys))
        return queries, keys


class DynamicQueryModule(nn.Module):
    def __init__(self, dim: int, n: int, r: int) -> None:
        super().__init__()
        self.n, self.r, self.dim = n, r, dim
        self.basic_queries = nn.Embedding(n, dim)
        self.token_mlp = nn.Linear(dim, r * dim)

    def forward(self, weights):  # weights (B, N, r)
        cand = self.token_mlp(self.basic_queries.weight[None]).view(self.n * self.r, self.dim)
        dyn = torch.stack([F.conv1d(cand[None], weights[b][..., None], groups=self.n)
                           for b in range(weights.shape[0])])
        return dyn.squeeze(1), self.basic_queries.weight[None].expand(weights.shape[0], -1, -1)


class Modulator(nn.Module):
    def __init__(self, dim: int, n: int, r: int, c4: int) -> None:
        super().__init__()
        self.n, self.r = n, r
        self.mlp1 = FeatureMLP(c4, dim)
        self.gmp_branch = nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Conv2d(dim // 2, dim // 2, 1))
        self.gap_branch = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim // 2, dim // 2, 1))
        self.mlp2 = nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, n * r))

    def forward(self, x):
        b, _, h, w = x.shape
        x = self.mlp1(x).transpose(1, 2).reshape(b, -1, h, w)
        x1, x2 = x.chunk(2, dim=1)  # max pooling on the FIRST half, as released
        z = torch.cat([self.gmp_branch(x1), self.gap_branch(x2)], dim=1).flatten(1)
        return F.softmax(self.mlp2(z).view(b, self.n, self.r), dim=-1)


class Decoder(nn.Module):
    def __init__(self, n: int, dim: int, interactor: nn.Module, r: int, c4: int, num_classes: int,
                 has_conv: bool = False, last_line: bool = False) -> None:
        super().__init__()
        self.interactor, self.last_line, self.has_conv = interactor, last_line, has_conv
        self.token = DynamicQueryModule(dim, n, r)
        self.feature_modulator = Modulator(dim, n, r, c4)
        self.upsampler = nn.Sequential(nn.PixelShuffle(2), LayerNorm2d(dim // 4), nn.GELU(), nn.PixelShuffle(2),
                                       nn.GELU())
        if last_line:
            self.output_head = nn.Conv2d(dim // 16, num_classes, 1)
        else:
            self.output_hypernetwork_mlps = MLP(dim, dim, dim // 16, 3)
            if has_conv:
                self.output_head = nn.Linear(n, num_classes)

    def inference(self, image, image_pe, tokens):
        b, c, h, w = image.shape
        hs, src = self.interactor(image, image_pe.expand(b, -1, -1, -1), tokens)
        up = self.upsampler(src.transpose(1, 2).reshape(b, c, h, w))
        hyper = self.output_hypernetwork_mlps(hs)
        if self.has_conv:
            hyper = self.output_head(hyper.transpose(1, 2)).transpose(1, 2)
        b, c, h, w = up.shape
        return (hyper @ up.view(b, c, h * w)).view(b, -1, h, w)

    def forward(self, image, image_pe, image_feature):
        if self.last_line:
            return self.output_head(self.upsampler(image))
        dyn, static = self.token(self.feature_modulator(image_feature))
        out = self.inference(image, image_pe, dyn)
        if self.training:  # use_aux: the decoder again on the static dictionary
            return out, self.inference(image, image_pe, static)
        return out


class PositionEmbeddingRandom(nn.Module):
    def __init__(self, num_pos_feats: int) -> None:
        super().__init__()
        self.register_buffer('positional_encoding_gaussian_matrix', torch.randn(2, num_pos_feats))

    def forward(self, size):
        h, w = size
        ones = torch.ones(h, w)
        y = (ones.cumsum(0) - 0.5) / h
        x = (ones.cumsum(1) - 0.5) / w
        z = 2 * math.pi * ((2 * torch.stack([x, y], -1) - 1) @ self.positional_encoding_gaussian_matrix)
        return torch.cat([z.sin(), z.cos()], -1).permute(2, 0, 1)


class DynamicDictionaryLearning(nn.Module):
    """``backbone`` = ``Sequential(*list(convnext.children())[:-1])`` (features, avgpool) of a torchvision ConvNeXt."""

    def __init__(self, convnext: nn.Module, hidden_sizes: Sequence[int], num_classes: int, l: int = 3,  # noqa: E741
                 dim: int = 256, r: int = 4, heads: int = 8, has_conv: bool = False, token_length: int = None,
                 last_line: bool = False) -> None:
        super().__init__()
        self.backbone = nn.Sequential(*list(convnext.children())[:-1])
        self.feats = []
        for name, m in self.backbone.named_modules():
            if name in ('0.1', '0.3', '0.5', '0.7'):
                m.register_forward_hook(lambda mod, a, o: self.feats.append(o))
        n = token_length or num_classes
        self.pe_layer = PositionEmbeddingRandom(dim // 2)
        self.linear_c = nn.ModuleList(FeatureMLP(c, dim) for c in hidden_sizes)
        self.decoder = Decoder(n, dim, Interactor(l, dim, heads), r, hidden_sizes[-1], num_classes, has_conv,
                               last_line)
        self.aggregator = nn.Conv2d(4 * dim, dim, 1, bias=False)

    def forward(self, x):
        self.feats.clear()
        self.backbone(x)
        size = self.feats[0].shape[2:]
        proj = [F.interpolate(mlp(f).transpose(1, 2).reshape(f.shape[0], -1, *f.shape[2:]), size=size,
                              mode='bilinear', align_corners=False) for f, mlp in zip(self.feats, self.linear_c)]
        fused = self.aggregator(torch.cat(proj[::-1], dim=1))
        return self.decoder(fused, self.pe_layer(fused.shape[2:])[None], self.feats[-1])


# ---------------------------------------------------------------- GeoSeg's UnetFormerLoss (pytorch-toolbelt / smp)
def soft_ce(logits, target, eps: float = 0.05, ignore_index: int = 255):
    """label_smoothed_nll_loss, reduction 'mean' over ALL pixels (ignored ones count as 0)."""
    lp = F.log_softmax(logits, dim=1)
    t = target[:, None]
    pad = t.eq(ignore_index)
    t = t.masked_fill(pad, 0)
    nll = (-lp.gather(1, t)).masked_fill(pad, 0.0).mean()
    smooth = (-lp.sum(1, keepdim=True)).masked_fill(pad, 0.0).mean()
    return (1 - eps) * nll + eps / lp.shape[1] * smooth


def dice(logits, target, smooth: float = 0.05, ignore_index: int = 255, eps: float = 1e-7):
    """Multiclass soft Dice from logits, summed over batch and pixels; absent classes give 0 but are averaged."""
    b, k = logits.shape[:2]
    p = logits.log_softmax(1).exp().view(b, k, -1)
    y = target.view(b, -1)
    mask = y != ignore_index
    p = p * mask[:, None]
    oh = F.one_hot((y * mask).long(), k).permute(0, 2, 1) * mask[:, None]
    oh = oh.type_as(p)
    inter = (p * oh).sum((0, 2))
    card = (p + oh).sum((0, 2))
    score = (2 * inter + smooth) / (card + smooth).clamp_min(eps)
    loss = (1 - score) * (oh.sum((0, 2)) > 0).to(p.dtype)
    return loss.mean()


def unetformer_loss(main, aux, target, ignore_index: int = 255):
    """Training: (SoftCE + Dice)(main) + 0.4 * SoftCE(aux)."""
    return (soft_ce(main, target, ignore_index=ignore_index) + dice(main, target, ignore_index=ignore_index)
            + 0.4 * soft_ce(aux, target, ignore_index=ignore_index))


def randomise_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Fan-in-scaled random values in every parameter and buffer (norm scales around 1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.ndim >= 2:
                t.copy_(torch.randn(t.shape, generator=g) / t[0].numel()**0.5)
            elif name.endswith('weight'):
                t.copy_(1 + 0.1 * torch.randn(t.shape, generator=g))
            else:
                t.copy_(0.1 * torch.randn(t.shape, generator=g))
    return model.eval()

"""FCtL (Liu et al., "Ultra-high Resolution Image Segmentation via Locality-aware Context Fusion and Alternating
Local Enhancement"): a patch segmentor fed with co-centred context windows, and its whole-image inference."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from torch import Tensor

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, OptSampleList, SampleList

from rsseg_ext.models.utils.blending import blend_windows
from rsseg_ext.utils.context_crops import context_crops, crop_padded, resize_aa
from rsseg_ext.utils.grid import context_window, slide_grid, uhr_grid

ContextSpec = Union[float, str]


def _norm_spec(s) -> ContextSpec:
    if s == 'global':
        return 'global'
    if isinstance(s, str):
        raise ValueError(f"a context is a scale >= 1 or 'global', got {s!r}")
    s = float(s)
    if s < 1.0:
        raise ValueError(f"a context scale must be >= 1 (1 = the patch itself), got {s}")
    return s


def _d4(x: Tensor, k: int, flip: bool) -> Tensor:
    if flip:
        x = x.flip(-1)
    return torch.rot90(x, k, dims=(-2, -1))


def _d4_inv(x: Tensor, k: int, flip: bool) -> Tensor:
    x = torch.rot90(x, -k, dims=(-2, -1))
    return x.flip(-1) if flip else x


@MODELS.register_module()
class MultiContextEncoderDecoder(EncoderDecoder):
    """FCtL: patch backbone + one backbone per context, LCF/ALE fusion on one level, a decode head.

    Inputs during training are channel-stacked ``(B, 3 (1 + n_ctx), p, p)`` tensors (patch first, then each
    non-self context in ``contexts`` order, built by ``GenerateMultiContextPatch``) with the patch boxes in the
    metas (``ctx_boxes``, ``(n_ctx, 4)``). At test time (``test_cfg.mode='uhr'``) the input is the whole normalised
    image ``(1, 3, H, W)``: it is cut into the GLNet patch grid (:func:`rsseg_ext.utils.grid.uhr_grid`), the
    contexts are cut from the image (zero = raw 0 past the border) and resized with the training resampler, the
    ``'global'`` context's features are computed once per image, and the patch logits are blended by
    :func:`~rsseg_ext.models.utils.blending.blend_windows` (mean blend: sum / count, the argmax of the paper's
    plain sum), the loop of the segmentors' slide mode and the scene engine.

    Args:
        backbone: the patch backbone (e.g. ``mmpretrain.VGG`` depth 16 with out_indices (2, 3, 4), or mmseg's
            ``MixVisionTransformer``).
        decode_head: ``FCN8sHead`` or ``SegformerHead``...
        fusion: ``LCFALEFusion`` config (``num_branches``/``self_branch_index`` filled in from ``contexts``);
            ``None``: a local-only model (the FCN-8s / SegFormer baselines) with the same UHR inference.
        contexts: the branches, each a scale (1.0 = the patch; a co-centred window ``lam`` times the patch) or
            ``'global'``; DeepGlobe ``(1.0, 3.0, 'global')``, Inria ``(1.0, 2.0, 3.0)``.
        patch_size: ``p`` (508).
        context_backbone: config of the context backbones (default: a copy of ``backbone``).
        share_context_backbone: one backbone for patch and contexts (default: independent weights, the paper).
        freeze_context_backbone: context backbones in eval mode, no gradients (the code's staged protocol).
        context_backbone_init: one ``init_cfg`` per non-self context (e.g. ``LocalPretrained`` of a stage-2
            checkpoint with ``prefix='backbone.'``), overriding the backbone config's.
        fuse_level: index into the backbone outputs of the level LCF/ALE work on (-1: the last, stride 32).
        context_border: ``'pad'`` (paper) or ``'shift'`` (windows clamped inside the image).
        img_channels: channels of one image in the stacked input (3).
        test_cfg: ``mode='uhr'`` (default) or ``'whole'`` (inputs already stacked, e.g. patch-level validation);
            ``patch_size``, ``min_overlap=50``, ``grid='glnet'|'mmseg'`` (``'mmseg'``: :func:`slide_grid` with
            ``stride``), ``grid_rounding='half_up'|'half_even'`` (the release's ``np.round``),
            ``sub_batch_size=16``, ``tta=None|'d4'``, ``cache_global=True``, ``pad_raw_value=0``,
            ``merge='mean'|'sum'`` (``'sum'``: the release's plain sum of overlapping patch logits; with D4 TTA on
            grids that are not mirror-symmetric the two can differ in argmax, not only in scale);
            ``scene_window`` / ``scene_overlap``: the scene engine's defaults (``tools/infer_scene.py``, each
            window one FCtL image, see :meth:`scene_window_logits`).
    """

    def __init__(self,
                 backbone: ConfigType,
                 decode_head: ConfigType,
                 fusion: OptConfigType = None,
                 contexts: Sequence[ContextSpec] = (1.0, 3.0, 'global'),
                 patch_size: int = 508,
                 context_backbone: OptConfigType = None,
                 share_context_backbone: bool = False,
                 freeze_context_backbone: bool = False,
                 context_backbone_init: Optional[Sequence[Optional[dict]]] = None,
                 fuse_level: int = -1,
                 context_border: str = 'pad',
                 img_channels: int = 3,
                 neck: OptConfigType = None,
                 auxiliary_head: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 pretrained: Optional[str] = None,
                 init_cfg: OptConfigType = None) -> None:
        super().__init__(backbone=backbone, decode_head=decode_head, neck=neck, auxiliary_head=auxiliary_head,
                         train_cfg=train_cfg, test_cfg=test_cfg, data_preprocessor=data_preprocessor,
                         pretrained=pretrained, init_cfg=init_cfg)
        self.contexts = tuple(_norm_spec(s) for s in contexts)
        if len(set(self.contexts)) != len(self.contexts):
            raise ValueError(f'contexts must be distinct, got {self.contexts}')
        self.self_index = self.contexts.index(1.0) if 1.0 in self.contexts else None
        self.ctx_specs = tuple(s for s in self.contexts if s != 1.0)
        self.patch_size, self.fuse_level, self.img_channels = int(patch_size), int(fuse_level), int(img_channels)
        self.context_border = context_border
        self.share_context_backbone = share_context_backbone
        self.freeze_context_backbone = freeze_context_backbone
        if self.test_cfg is None:
            self.test_cfg = ConfigDict(mode='uhr')

        if not share_context_backbone:
            if context_backbone_init is not None and len(context_backbone_init) != len(self.ctx_specs):
                raise ValueError(f'context_backbone_init needs one entry per non-self context {self.ctx_specs}, '
                                 f'got {len(context_backbone_init)}')
            cbs = []
            for j in range(len(self.ctx_specs)):
                cfg = copy.deepcopy(context_backbone if context_backbone is not None else backbone)
                if context_backbone_init is not None and context_backbone_init[j] is not None:
                    cfg['init_cfg'] = copy.deepcopy(context_backbone_init[j])
                cbs.append(MODELS.build(cfg))
            self.context_backbones = nn.ModuleList(cbs)
        if freeze_context_backbone:
            for cb in self._ctx_backbone_modules():
                cb.requires_grad_(False)

        self.fusion = None
        if fusion is None and self.ctx_specs:
            raise ValueError(f'contexts {self.contexts} need a fusion module; a local-only model (the FCN-8s / '
                             'SegFormer baselines) uses contexts=(1.0,) and fusion=None')
        if fusion is not None:
            fusion = copy.deepcopy(dict(fusion))
            fusion.setdefault('num_branches', len(self.contexts))
            fusion.setdefault('self_branch_index', self.self_index)
            if fusion['num_branches'] != len(self.contexts):
                raise ValueError(f"fusion.num_branches={fusion['num_branches']} but there are "
                                 f'{len(self.contexts)} contexts {self.contexts}')
            self.fusion = MODELS.build(fusion)

    # -- context backbones ---------------------------------------------------------------------------------------
    def _ctx_backbone_modules(self) -> List[nn.Module]:
        return [] if self.share_context_backbone else list(self.context_backbones)

    def _ctx_backbone(self, j: int) -> nn.Module:
        return self.backbone if self.share_context_backbone else self.context_backbones[j]

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_context_backbone:  # frozen trunks keep their BN statistics / no dropout
            for cb in self._ctx_backbone_modules():
                cb.eval()
        return self

    def context_features(self, j: int, x: Tensor) -> Tensor:
        """Features ``(B, c, h, w)`` at ``fuse_level`` of context ``j`` (index into ``ctx_specs``)."""
        if self.freeze_context_backbone and not self.share_context_backbone:
            with torch.no_grad():
                return self._ctx_backbone(j)(x)[self.fuse_level]
        return self._ctx_backbone(j)(x)[self.fuse_level]

    # -- boxes ---------------------------------------------------------------------------------------------------
    def default_ctx_boxes(self, batch: int, device=None) -> Tensor:
        """``(B, n_ctx, 4)`` boxes of a patch in the middle of its contexts (centred scales; ``'global'`` gets the
        whole thumbnail, only meant for ``_forward``/FLOP counting without metas)."""
        rows = []
        for s in self.ctx_specs:
            if s == 'global':
                rows.append((0.0, 0.0, 1.0, 1.0))
            else:
                a, b = 0.5 - 0.5 / s, 0.5 + 0.5 / s
                rows.append((a, a, b, b))
        return torch.tensor(rows, dtype=torch.float32, device=device).reshape(1, -1, 4).expand(batch, -1, -1)

    def _boxes_from_metas(self, batch_img_metas: Optional[List[dict]], batch: int, device) -> Tensor:
        if batch_img_metas and batch_img_metas[0].get('ctx_boxes') is not None:
            boxes = torch.stack([torch.as_tensor(m['ctx_boxes'], dtype=torch.float32) for m in batch_img_metas])
            return boxes.reshape(batch, len(self.ctx_specs), 4).to(device)
        return self.default_ctx_boxes(batch, device)

    def branch_boxes(self, ctx_boxes: Tensor) -> Tensor:
        """``(B, n_ctx, 4)`` -> ``(B, T, 4)`` in ``contexts`` order, the self branch getting ``(0, 0, 1, 1)``."""
        out, j = [], 0
        for s in self.contexts:
            if s == 1.0:
                out.append(ctx_boxes.new_tensor([0.0, 0.0, 1.0, 1.0]).expand(ctx_boxes.shape[0], 4))
            else:
                out.append(ctx_boxes[:, j])
                j += 1
        return torch.stack(out, dim=1)

    # -- features ------------------------------------------------------------------------------------------------
    def _fuse(self, feats: List[Tensor], ctx_feats: List[Tensor], ctx_boxes: Tensor) -> List[Tensor]:
        if self.fusion is not None:
            x_local = feats[self.fuse_level]
            branch, j = [], 0
            for s in self.contexts:
                if s == 1.0:
                    branch.append(x_local)
                else:
                    branch.append(ctx_feats[j])
                    j += 1
            feats[self.fuse_level] = self.fusion(x_local, branch, self.branch_boxes(ctx_boxes))
        if self.with_neck:
            feats = self.neck(feats)
        return feats

    def split_inputs(self, inputs: Tensor) -> Tuple[Tensor, List[Tensor]]:
        """``(B, 3 (1 + n_ctx), p, p)`` -> patch ``(B, 3, p, p)`` and ``n_ctx`` contexts."""
        g = self.img_channels
        expected = g * (1 + len(self.ctx_specs))
        if inputs.shape[1] != expected:
            raise ValueError(f'expected {expected} input channels (patch + contexts {self.ctx_specs}, {g} each), got '
                             f"{inputs.shape[1]}; training inputs come from GenerateMultiContextPatch, whole images "
                             "need test_cfg.mode='uhr'")
        groups = list(inputs.split(g, dim=1))
        return groups[0], groups[1:]

    def extract_feat(self, inputs: Tensor, batch_img_metas: Optional[List[dict]] = None) -> List[Tensor]:
        """Stacked inputs -> the patch backbone's levels with ``fuse_level`` replaced by the fused features."""
        patch, ctxs = self.split_inputs(inputs)
        feats = list(self.backbone(patch))
        ctx_feats = [self.context_features(j, c) for j, c in enumerate(ctxs)] if self.fusion is not None else []
        boxes = self._boxes_from_metas(batch_img_metas, inputs.shape[0], inputs.device)
        return self._fuse(feats, ctx_feats, boxes)

    def forward_patches(self, patches: Tensor, contexts: Sequence[Optional[Tensor]], ctx_boxes: Tensor,
                        ctx_feats: Optional[Dict[int, Tensor]] = None) -> Tensor:
        """Logits ``(B, K, p, p)`` of normalised patches and their contexts (public: UHR / GeoTIFF inference).

        Args:
            patches: ``(B, 3, p, p)``.
            contexts: one ``(B, 3, p, p)`` per non-self context (``ctx_specs`` order); ``None`` where
                ``ctx_feats`` gives the features.
            ctx_boxes: ``(B, n_ctx, 4)`` patch boxes in the contexts.
            ctx_feats: ``{j: (1 or B, c, h, w)}`` precomputed context features (the per-image ``'global'`` one).
        """
        b = patches.shape[0]
        feats = list(self.backbone(patches))
        cf = []
        if self.fusion is not None:
            for j in range(len(self.ctx_specs)):
                if ctx_feats is not None and ctx_feats.get(j) is not None:
                    f = ctx_feats[j]
                    cf.append(f.expand(b, -1, -1, -1) if f.shape[0] == 1 else f)
                else:
                    cf.append(self.context_features(j, contexts[j]))
        feats = self._fuse(feats, cf, ctx_boxes)
        size = tuple(patches.shape[-2:])
        metas = [dict(img_shape=size, ori_shape=size, pad_shape=size) for _ in range(b)]
        return self.decode_head.predict(feats, metas, self.test_cfg)

    # -- mmseg API -----------------------------------------------------------------------------------------------
    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        x = self.extract_feat(inputs, batch_img_metas)
        return self.decode_head.predict(x, batch_img_metas, self.test_cfg)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        x = self.extract_feat(inputs, [s.metainfo for s in data_samples])
        losses = dict()
        losses.update(self._decode_head_forward_train(x, data_samples))
        if self.with_auxiliary_head:
            losses.update(self._auxiliary_head_forward_train(x, data_samples))
        return losses

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Tensor:
        metas = [s.metainfo for s in data_samples] if data_samples is not None else None
        return self.decode_head.forward(self.extract_feat(inputs, metas))

    def inference(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        mode = self.test_cfg.get('mode', 'uhr')
        if mode == 'uhr':
            return self.uhr_inference(inputs, batch_img_metas)
        if mode == 'whole':
            return self.encode_decode(inputs, batch_img_metas)
        raise ValueError(f"FCtL test_cfg.mode must be 'uhr' (whole images) or 'whole' (stacked patches), got {mode!r}")

    # -- whole-image (UHR) inference ---------------------------------------------------------------------------
    def pad_value(self, device=None) -> Tensor:
        """``(3,)`` the normalised value of the raw pixel ``test_cfg.pad_raw_value`` (0): what padding looks like
        after the preprocessor, so test-time padding equals training's raw-0 padding."""
        raw = float(self.test_cfg.get('pad_raw_value', 0))
        pre = self.data_preprocessor
        if getattr(pre, '_enable_normalize', False):
            return ((raw - pre.mean.view(-1)) / pre.std.view(-1)).to(device)
        return torch.full((self.img_channels,), raw, device=device)

    def patch_grid(self, height: int, width: int) -> List[Tuple[int, int, int, int]]:
        """The patch windows ``(y1, x1, y2, x2)`` of an image (``test_cfg.grid``: GLNet rule or mmseg's grid)."""
        cfg = self.test_cfg
        p = int(cfg.get('patch_size', self.patch_size))
        if cfg.get('grid', 'glnet') == 'mmseg':
            stride = cfg.get('stride', None)
            if stride is None:
                raise ValueError("test_cfg.grid='mmseg' needs test_cfg.stride")
            return slide_grid(height, width, p, stride)
        return uhr_grid(height, width, p, int(cfg.get('min_overlap', 50)), cfg.get('grid_rounding', 'half_up'))

    def uhr_inference(self, inputs: Tensor, batch_img_metas: Optional[List[dict]] = None) -> Tensor:
        """Whole normalised images ``(N, 3, H, W)`` -> summed-and-count-normalised logits ``(N, K, H, W)``."""
        tta = self.test_cfg.get('tta', None)
        outs = []
        for img in inputs:
            if tta in (None, 'none'):
                outs.append(self._uhr_single(img))
            elif tta == 'd4':
                acc = None
                for flip in (False, True):
                    for k in range(4):
                        lg = _d4_inv(self._uhr_single(_d4(img, k, flip)), k, flip)
                        acc = lg if acc is None else acc + lg
                outs.append(acc)
            else:
                raise ValueError(f"test_cfg.tta must be None or 'd4', got {tta!r}")
        return torch.stack(outs)

    def scene_window_logits(self, inputs: Tensor, batch_img_metas: Optional[List[dict]] = None) -> Tensor:
        """The window forward of the scene engine (``SceneInferencer``, ``tools/infer_scene.py``): each window of
        a scene is one FCtL image -- its patch grid, its medium contexts and its global context are taken inside the
        window (raw 0 past the window border, as past an image border in training). Set the window to the image
        size the model was trained on (``test_cfg.scene_window``: DeepGlobe 2448, Inria 5000) so the contexts
        cover what they covered in training; overlapping windows are blended by the engine.

        Args:
            inputs: ``(N, 3, h, w)`` normalised windows.

        Returns:
            ``(N, K, h, w)`` logits (:meth:`uhr_inference`, including ``test_cfg.tta``).
        """
        return self.uhr_inference(inputs, batch_img_metas)

    def _uhr_single(self, img: Tensor) -> Tensor:
        cfg = self.test_cfg
        p = int(cfg.get('patch_size', self.patch_size))
        sub = int(cfg.get('sub_batch_size', 16))
        cache = bool(cfg.get('cache_global', True))
        pad = self.pad_value(img.device).to(img.dtype)
        _, h, w = img.shape
        hp, wp = max(h, p), max(w, p)
        if (hp, wp) != (h, w):  # smaller than one patch: pad with raw 0 (as training's crops do)
            img = crop_padded(img, (0, 0, hp, wp), pad)
        grid = self.patch_grid(hp, wp)
        ctx_feats = {}
        if self.fusion is not None and cache:
            for j, s in enumerate(self.ctx_specs):
                if s == 'global':  # identical for every patch of the image: once per image
                    ctx_feats[j] = self.context_features(j, resize_aa(img[None], p))
        specs = [None if j in ctx_feats else s for j, s in enumerate(self.ctx_specs)]

        def window_logits(wins):
            patches = torch.stack([crop_padded(img, win, pad) for win in wins])
            crops, boxes = self._context_inputs(img, wins, specs, p, pad)
            return self.forward_patches(patches, crops, boxes, ctx_feats)

        out = blend_windows(window_logits, grid, hp, wp, sub, 'mean', img.device, torch.float32)
        if cfg.get('merge', 'mean') == 'sum':  # the release's patch2global: plain sum (mean x overlap count)
            count = torch.zeros((hp, wp), device=out.device, dtype=out.dtype)
            for y1, x1, y2, x2 in grid:
                count[y1:y2, x1:x2] += 1
            out = out * count
        return out[:, :h, :w]

    def _context_inputs(self, img: Tensor, wins, specs, p: int, pad: Tensor) -> Tuple[List[Optional[Tensor]], Tensor]:
        """Context crops of ``wins`` (``None`` for the cached ones) and ``(B, n_ctx, 4)`` boxes."""
        if self.fusion is None:
            return [None] * len(specs), self.default_ctx_boxes(len(wins), img.device)
        todo = [s for s in specs if s is not None]
        crops, _ = context_crops(img, wins, todo, p, pad, self.context_border)
        crops = iter(crops)
        out = [None if s is None else next(crops) for s in specs]
        hh, ww = img.shape[-2:]
        boxes = torch.tensor([[context_window(win, s, hh, ww, self.context_border)[1] for s in self.ctx_specs]
                              for win in wins], dtype=torch.float32, device=img.device)
        return out, boxes.reshape(len(wins), len(self.ctx_specs), 4)

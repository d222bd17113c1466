"""RSKT-Seg's CLIP encoder: dense patch features of 4 rotated passes + intermediate features, and the text tower.

One open_clip model serves both towers (authors' code): it lives inside the package's one text-encoder wrapper
(:class:`~rsseg_ext.models.text.OpenCLIPTextEncoder` with ``keep_visual=True``), which also owns the per-vocabulary
embedding cache. Its ``visual`` tower is run here with our own token loop (:mod:`rsseg_ext.models.utils.clip_vit`).
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmseg.registry import MODELS
from ..text.clip_text_encoder import CLIP_WEIGHT_SOURCES, OpenCLIPTextEncoder
from ..utils.clip_vit import clip_dense_block, clip_vit_embed, run_blocks, tokens_to_map
from ..utils.weight_conversion import set_qv_trainable, split_mha_in_proj

__all__ = ['OpenCLIPDenseBackbone']

FINETUNE_MODES = ('attention', 'attention_visual_only', 'frozen', 'full')


@MODELS.register_module()
class OpenCLIPDenseBackbone(BaseModule):
    """CLIP ViT image encoder for RS-CMA (multi-directional cost maps) with q/v-only fine-tuning.

    The batch is resized to ``input_size`` (bilinear, ``align_corners=False``), rotated by ``rot90^k`` for every
    ``k`` in ``rotations``, encoded (all rotations in one batched pass), and every dense output is rotated back
    with ``rot90^(4-k)`` so all maps are aligned with the un-rotated image (RS-CMA, paper Eqs. 1-3).

    Args:
        model_name: open_clip architecture, ``'ViT-B-16'`` (input 384) or ``'ViT-L-14-336'`` (input 336).
        checkpoint: local CLIP weights (OpenAI TorchScript ``.pt``, open_clip state dict or ``.safetensors``),
            loaded by ``init_weights`` through the text encoder wrapper.
        checkpoint_source: where to get ``checkpoint`` (quoted in the missing-file error).
        templates: prompt templates; RSKT-Seg uses the single ``'A photo of a {} in the scene'`` (P = 1).
        input_size: square side the image is resized to (384 for B/16, 336 for L/14@336).
        out_indices: residual blocks whose outputs feed RS-Transfer (0-based; (3, 7) for B/16, (7, 15) for L/14),
            taken from the un-rotated pass only.
        rotations: ``k`` of the ``rot90`` passes; ``(0,)`` disables RS-CMA's rotations (ablation "R-I").
        dense_last_block: CAT-Seg's value trick on the last block (§2.2); False runs the standard block.
        finetune: ``'attention'`` (q/v weights of both towers trainable, the paper), ``'attention_visual_only'``,
            ``'frozen'`` or ``'full'``.
        force_quick_gelu: QuickGELU activations (OpenAI CLIP weights need it).
        model_cfg: explicit ``open_clip.model.CLIP`` kwargs (tiny test models).
        allow_random_init: allow ``checkpoint=None`` (tests, parameter counting).

    Outputs of ``forward(x (B, 3, H, W))``: ``dict(clip_dense=[R x (B, Ce, g, g)], clip_inter=[(B, Wc, g, g)] * 2)``
    (dense maps rotated back, not normalised)
    with ``g = input_size / patch``; ``encode_text(names)`` -> ``(T, P, Ce)`` L2-normalised.
    """

    def __init__(self,
                 model_name: str = 'ViT-B-16',
                 checkpoint: Optional[str] = None,
                 checkpoint_source: Optional[str] = None,
                 templates: Sequence[str] = ('A photo of a {} in the scene', ),
                 input_size: int = 384,
                 out_indices: Sequence[int] = (3, 7),
                 rotations: Sequence[int] = (0, 1, 2, 3),
                 dense_last_block: bool = True,
                 finetune: str = 'attention',
                 force_quick_gelu: bool = True,
                 model_cfg: Optional[dict] = None,
                 allow_random_init: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if finetune not in FINETUNE_MODES:
            raise ValueError(f'finetune must be one of {FINETUNE_MODES}, got {finetune!r}')
        if not rotations or rotations[0] != 0:
            raise ValueError(f'rotations must start with 0 (the un-rotated pass gives the guidance), got {rotations}')
        self.input_size = int(input_size)
        self.out_indices = tuple(int(i) for i in out_indices)
        self.rotations = tuple(int(k) % 4 for k in rotations)
        self.dense_last_block = dense_last_block
        self.finetune = finetune
        self.text_encoder = OpenCLIPTextEncoder(
            model_name=model_name, checkpoint=checkpoint,
            checkpoint_source=checkpoint_source or CLIP_WEIGHT_SOURCES['openai'], templates=templates,
            freeze=finetune not in ('attention', 'full'), force_quick_gelu=force_quick_gelu, keep_visual=True,
            model_cfg=model_cfg, allow_random_init=allow_random_init)
        clip = self.text_encoder.clip
        if max(self.out_indices) >= len(clip.visual.transformer.resblocks) - 1:
            raise ValueError(f'out_indices {self.out_indices} must lie before the last block')
        # separate q/k/v Parameters so requires_grad can pick q and v (packed files load: weight_conversion.qkv)
        split_mha_in_proj(clip)
        if finetune == 'attention':
            set_qv_trainable(clip)
        elif finetune == 'attention_visual_only':
            clip.requires_grad_(False)
            set_qv_trainable(clip.visual)
        elif finetune == 'frozen':
            clip.requires_grad_(False)
        else:
            clip.requires_grad_(True)

    @property
    def clip(self):
        return self.text_encoder.clip

    @property
    def visual(self):
        return self.text_encoder.clip.visual

    @property
    def embed_dim(self) -> int:
        """Ce: the joint image-text embedding width."""
        return int(self.visual.proj.shape[1])

    @property
    def width(self) -> int:
        """Wc: the visual transformer width."""
        return int(self.visual.conv1.out_channels)

    def encode_text(self, class_names: Sequence[str]) -> torch.Tensor:
        """``(T, P, Ce)`` L2-normalised prompt embeddings, cached per vocabulary when no gradient can flow."""
        return self.text_encoder.encode(class_names)

    def encode_image_tokens(self, x: torch.Tensor) -> Dict[str, object]:
        """Image ``(N, 3, S, S)`` at the working size -> projected tokens ``(N, 1+g*g, Ce)``, hook tokens and grid."""
        visual = self.visual
        tokens, grid = clip_vit_embed(visual, x)
        blocks = visual.transformer.resblocks
        tokens, hooks = run_blocks(blocks[:-1], tokens, self.out_indices)
        last = blocks[-1]
        if self.dense_last_block:
            tokens = clip_dense_block(last, tokens)
        else:
            tokens, _ = run_blocks([last], tokens, ())
        tokens = visual.ln_post(tokens) @ visual.proj  # ln_post on ALL tokens, then Wc -> Ce
        return dict(tokens=tokens, hooks=hooks, grid=grid)

    def forward(self, x: torch.Tensor) -> Dict[str, List[torch.Tensor]]:
        b = x.shape[0]
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, ) * 2, mode='bilinear', align_corners=False)
        # all rotations in one batch: rotation-major (N = R * B)
        x_rot = torch.cat([torch.rot90(x, k, dims=(2, 3)) for k in self.rotations], dim=0)
        out = self.encode_image_tokens(x_rot)
        dense = tokens_to_map(out['tokens'], out['grid'])  # (R*B, Ce, g, g)
        # not normalised here: the appearance guidance uses the raw features (as CAT-Seg); the neck normalises
        # for the cosine cost, which commutes with the rotation
        clip_dense = [torch.rot90(d, (4 - k) % 4, dims=(2, 3)) for k, d in zip(self.rotations, dense.split(b))]
        clip_inter = [tokens_to_map(h[:b], out['grid']) for h in out['hooks']]  # un-rotated pass only
        return dict(clip_dense=clip_dense, clip_inter=clip_inter)

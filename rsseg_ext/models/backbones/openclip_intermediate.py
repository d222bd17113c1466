"""A frozen open_clip ViT that only returns intermediate block outputs (RSKT-Seg's RemoteCLIP guidance, §2.3)."""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmseg.registry import MODELS
from ..text.clip_text_encoder import CLIP_WEIGHT_SOURCES, build_open_clip
from ..utils.clip_vit import clip_vit_embed, run_blocks, tokens_to_map
from ..utils.weight_loading import load_local_state_dict, load_weights

__all__ = ['OpenCLIPIntermediateEncoder']


@MODELS.register_module()
class OpenCLIPIntermediateEncoder(BaseModule):
    """Frozen CLIP image tower (e.g. RemoteCLIP ViT-B/32) -> hook outputs of some residual blocks.

    Only the image tower is kept (the text tower is never used). The forward stops after the last hooked block,
    so the later blocks, ``ln_post`` and ``proj`` cost nothing; their weights are kept (``truncate=False``) so the
    released file loads strictly, or dropped with ``truncate=True``.

    Args:
        model_name: open_clip architecture (``'ViT-B-32'`` for RemoteCLIP).
        checkpoint: local weights (RemoteCLIP ``RemoteCLIP-ViT-B-32.pt``, an open_clip/OpenAI state dict);
            loaded by ``init_weights``.
        checkpoint_source: where to get it (quoted in the missing-file error).
        input_size: square working size (768 -> 24 x 24 tokens for patch 32).
        out_indices: 0-based blocks whose outputs are returned (RSKT-Seg: (3, 7)).
        force_quick_gelu: QuickGELU (RSKT-Seg ran RemoteCLIP with it; RemoteCLIP's own loader uses GELU).
        truncate: drop the blocks after ``max(out_indices)`` (and ``ln_post``/``proj``) from the model.
        model_cfg: explicit ``open_clip.model.CLIP`` kwargs (tiny test models).
        allow_random_init: allow ``checkpoint=None``.

    ``forward(x (B, 3, H, W))`` -> list of ``(B, Wc, g, g)``, one per ``out_indices``.
    """

    def __init__(self,
                 model_name: str = 'ViT-B-32',
                 checkpoint: Optional[str] = None,
                 checkpoint_source: Optional[str] = None,
                 input_size: int = 768,
                 out_indices: Sequence[int] = (3, 7),
                 force_quick_gelu: bool = True,
                 truncate: bool = False,
                 model_cfg: Optional[dict] = None,
                 allow_random_init: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        source = checkpoint_source or CLIP_WEIGHT_SOURCES['RemoteCLIP']
        if checkpoint is None and not allow_random_init:
            raise ValueError(f'{type(self).__name__} needs checkpoint=<local weights file> (or allow_random_init=True).'
                             f' Get the weights from {source}.')
        self.checkpoint = checkpoint
        self.checkpoint_source = source
        self.model_name = model_name
        self.input_size = int(input_size)
        self.out_indices = tuple(int(i) for i in out_indices)
        self.visual = build_open_clip(model_name, model_cfg, force_quick_gelu).visual
        self.stop = max(self.out_indices) + 1
        if truncate:
            self.visual.transformer.resblocks = self.visual.transformer.resblocks[:self.stop]
            self.visual.ln_post = None
            self.visual.proj = None
        self.visual.requires_grad_(False)
        self.visual.eval()

    def init_weights(self) -> None:
        if self.checkpoint is None:
            return
        sd = load_local_state_dict(self.checkpoint, what=f'{self.model_name} image encoder weights',
                                   source=self.checkpoint_source, config_key='model.remote_clip.checkpoint')
        own = set(self.visual.state_dict())

        def key_map(k: str) -> Optional[str]:
            # visual keys only; a truncated model also skips the blocks it dropped
            k = k[len('visual.'):] if k.startswith('visual.') else None
            return k if k is not None and (k in own or not _dropped(k)) else None

        def _dropped(k: str) -> bool:
            return k.startswith(('transformer.resblocks.', 'ln_post.', 'proj')) and k not in own

        try:
            load_weights(self.visual, sd, key_map=key_map, strict=True, what=f'{self.checkpoint}')
        except RuntimeError as e:
            raise RuntimeError(f'{self.checkpoint} does not fit the open_clip {self.model_name} image tower: {e}\n'
                               f'  Check model_name against the file.') from None

    def train(self, mode: bool = True) -> 'OpenCLIPIntermediateEncoder':
        super().train(mode)
        self.visual.eval()  # always frozen
        return self

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, ) * 2, mode='bilinear', align_corners=False)
        tokens, grid = clip_vit_embed(self.visual, x)
        _, hooks = run_blocks(self.visual.transformer.resblocks, tokens, self.out_indices, stop=self.stop)
        return [tokens_to_map(h, grid) for h in hooks]

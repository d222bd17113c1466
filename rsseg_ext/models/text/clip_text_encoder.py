"""The one CLIP text encoder of rsseg_ext (LoVLANet, RSKT-Seg): open_clip's text tower, local weights only, and a
per-vocabulary embedding cache that never goes stale.

Class names -> prompts (``templates``, optional per-class ``class_prompts``) -> open_clip tokenizer (the BPE
vocabulary ships inside open_clip, so tokenising works offline) -> ``encode_text`` -> L2-normalised embeddings.

Cache rules (the RSKT-Seg original caches the first vocabulary forever and serves stale embeddings during
in-training validation; we do not):

* key = (model name, templates, prompts, device, dtype): a new vocabulary or template set is a new entry;
* used only when no gradient can flow into the text tower (frozen, or the module is in eval mode);
* cleared by ``load_state_dict`` (weights loaded after the cache was filled, e.g. ``load_from``), by
  ``train()`` when the tower is trainable, and by :meth:`OpenCLIPTextEncoder.clear_cache`.
"""
from collections import OrderedDict
from typing import Dict, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmseg.registry import MODELS
from ..utils.weight_conversion import split_in_proj_state_dict
from ..utils.weight_loading import load_local_state_dict, load_weights

try:
    import open_clip
except ImportError:  # not an install requirement: it requires torchvision, which pip would pick unpinned
    open_clip = None

__all__ = ['OpenCLIPTextEncoder', 'build_open_clip']

#: where users get the weights named by the configs (quoted in missing-file errors)
CLIP_WEIGHT_SOURCES = {
    'RemoteCLIP': 'https://huggingface.co/chendelong/RemoteCLIP (RemoteCLIP-ViT-B-32.pt / -ViT-L-14.pt / -RN50.pt)',
    'openai': 'the OpenAI CLIP release (e.g. ViT-B-16.pt from https://github.com/openai/CLIP, clip/clip.py _MODELS)',
}


def build_open_clip(model_name: str = 'ViT-B-32', model_cfg: Optional[dict] = None,
                    force_quick_gelu: bool = False) -> torch.nn.Module:
    """Build an open_clip ``CLIP`` with random weights and no network access.

    Args:
        model_name: an open_clip architecture name (``open_clip.list_models()``), used when ``model_cfg`` is None.
        model_cfg: explicit ``open_clip.model.CLIP`` kwargs (``embed_dim``, ``vision_cfg``, ``text_cfg``,
            ``quick_gelu``) -- tiny models for tests, or architectures open_clip does not name.
        force_quick_gelu: use QuickGELU (OpenAI CLIP and the RemoteCLIP weights were trained with it).
    """
    if open_clip is None:
        from ...utils.torch_stack import torchvision_install_hint
        raise ImportError('The CLIP-based modules (LoVLANet, RSKT-Seg) need open_clip_torch, which is not installed: '
                          + torchvision_install_hint('open_clip_torch==3.3.0') + '.')
    if model_cfg is not None:
        cfg = dict(model_cfg)
        cfg['quick_gelu'] = cfg.get('quick_gelu', False) or force_quick_gelu
        return open_clip.model.CLIP(**cfg)
    if model_name not in open_clip.list_models():
        raise KeyError(f'Unknown open_clip architecture {model_name!r}; choose one of open_clip.list_models() '
                       f'(e.g. ViT-B-32, ViT-B-16, ViT-L-14) or pass model_cfg.')
    text_cfg = (open_clip.get_model_config(model_name) or {}).get('text_cfg', {})
    if text_cfg.get('hf_tokenizer_name') or text_cfg.get('hf_model_name'):
        raise ValueError(f'{model_name} uses a Hugging Face text model/tokenizer that would be downloaded; '
                         f'rsseg_ext supports the CLIP BPE text towers (ViT-B-32, ViT-B-16, ViT-L-14, RN50, ...).')
    # pretrained=None: architecture only; a pretrained *tag* would trigger a hub download
    return open_clip.create_model(model_name, pretrained=None, force_quick_gelu=force_quick_gelu, device='cpu')


@MODELS.register_module()
class OpenCLIPTextEncoder(BaseModule):
    """open_clip text tower -> L2-normalised class embeddings, cached per vocabulary.

    Args:
        model_name: open_clip architecture (``'ViT-B-32'`` for RemoteCLIP/LoVLANet, ``'ViT-B-16'``/``'ViT-L-14'``
            for RSKT-Seg).
        checkpoint: local CLIP weights (open_clip/RemoteCLIP state dict, OpenAI TorchScript ``.pt`` or
            ``.safetensors``), loaded by :meth:`init_weights` (i.e. before training; a trained rsseg_ext checkpoint
            already holds the text weights, so testing does not need this file). ``None`` is an error unless
            ``allow_random_init=True`` (tests, or training the tower from scratch).
        checkpoint_source: where to get ``checkpoint`` (quoted in the missing-file error); defaults to RemoteCLIP.
        templates: prompt templates, each with one ``{}``; embeddings of several templates are averaged by
            :meth:`forward` (NACLIP-style ensembling) and kept apart by :meth:`encode`.
        class_prompts: optional ``{class name: prompt text}`` overrides (e.g. ``{'barren': 'barren land'}``).
        freeze: no gradients into the tower, kept in eval mode; embeddings are cached.
        force_quick_gelu: QuickGELU activations (OpenAI CLIP / RemoteCLIP as RSKT-Seg ran it).
        keep_visual: keep the image tower (``self.clip.visual``) so an image encoder can share this open_clip
            model (RSKT-Seg); by default it is dropped (LoVLANet counts the text tower only).
        model_cfg: explicit ``open_clip.model.CLIP`` kwargs instead of ``model_name`` (tiny test models).
        allow_random_init: allow ``checkpoint=None``.

    Shapes: ``encode(names)`` -> ``(K, P, D)``; ``forward(names)`` -> ``(K, D)``; K classes, P templates,
    D = CLIP embedding width (512 for ViT-B).
    """

    def __init__(self,
                 model_name: str = 'ViT-B-32',
                 checkpoint: Optional[str] = None,
                 checkpoint_source: Optional[str] = None,
                 templates: Sequence[str] = ('{}', ),
                 class_prompts: Optional[Mapping[str, str]] = None,
                 freeze: bool = True,
                 force_quick_gelu: bool = False,
                 keep_visual: bool = False,
                 model_cfg: Optional[dict] = None,
                 allow_random_init: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        templates = tuple(templates)
        if not templates or any(t.count('{}') != 1 for t in templates):
            raise ValueError(f'templates must be non-empty strings with exactly one "{{}}", got {templates!r}')
        if checkpoint is None and not allow_random_init:
            raise ValueError('OpenCLIPTextEncoder needs checkpoint=<local CLIP weights file> (or allow_random_init=True '
                             'to start from random weights). Get the weights from '
                             f'{checkpoint_source or CLIP_WEIGHT_SOURCES["RemoteCLIP"]}.')
        self.model_name = model_name if model_cfg is None else 'custom'
        self.checkpoint = checkpoint
        self.checkpoint_source = checkpoint_source or CLIP_WEIGHT_SOURCES['RemoteCLIP']
        self.templates = templates
        self.class_prompts = dict(class_prompts or {})
        self.freeze = freeze
        self.clip = build_open_clip(model_name, model_cfg, force_quick_gelu)
        if not keep_visual:
            self.clip.visual = None  # encode_text never touches it
        self.context_length = int(self.clip.context_length)
        self.tokenizer = (open_clip.tokenizer.SimpleTokenizer(context_length=self.context_length)
                          if model_cfg is not None else open_clip.get_tokenizer(model_name))
        self._cache: Dict[Tuple, torch.Tensor] = OrderedDict()
        if freeze:
            self.clip.requires_grad_(False)
            self.clip.eval()
        self._register_load_state_dict_pre_hook(self._on_load_state_dict)

    # ------------------------------------------------------------------ weights
    def init_weights(self) -> None:
        super().init_weights()
        if self.checkpoint is None:
            return
        sd = load_local_state_dict(self.checkpoint, what=f'CLIP weights ({self.model_name})',
                                   source=self.checkpoint_source, config_key='text_encoder.checkpoint')
        keep = (lambda k: k) if self.clip.visual is not None else (lambda k: None if k.startswith('visual.') else k)
        # open_clip's loader adapts old/3rd-party layouts, position-embedding sizes and logit_scale shapes
        from open_clip.factory import convert_state_dict, resize_text_pos_embed
        sd = convert_state_dict(self.clip, dict(sd))
        pos = sd.get('positional_embedding')
        if pos is not None and pos.shape[-1] == self.clip.positional_embedding.shape[-1]:
            resize_text_pos_embed(sd, self.clip)  # another context length; other widths are reported below
        if 'logit_scale' in sd and sd['logit_scale'].ndim != self.clip.logit_scale.ndim:
            sd['logit_scale'] = sd['logit_scale'].reshape(self.clip.logit_scale.shape)
        # a tower whose attention was split into q/k/v Parameters (RSKT-Seg q/v fine-tuning) reads packed files
        sd = split_in_proj_state_dict(sd, self.clip.state_dict().keys())
        try:  # strict: a wrong file changes nothing
            load_weights(self.clip, sd, key_map=keep, strict=True, what=f'CLIP weights {self.checkpoint}',
                         ignore_missing=lambda k: k.startswith('logit_bias'))
        except RuntimeError as e:
            raise RuntimeError(f'{self.checkpoint} does not fit the open_clip {self.model_name} model: {e}\n'
                               f'  Check model_name (and force_quick_gelu) against the file.') from None
        self.clear_cache()

    def _on_load_state_dict(self, *args, **kwargs) -> None:
        self.clear_cache()

    def clear_cache(self) -> None:
        self._cache.clear()

    def train(self, mode: bool = True) -> 'OpenCLIPTextEncoder':
        super().train(mode)
        if self.freeze:
            self.clip.eval()  # frozen: no dropout/statistics updates either
        else:
            self.clear_cache()  # trainable weights change between calls
        return self

    # ------------------------------------------------------------------ encoding
    @property
    def embed_dim(self) -> int:
        proj = self.clip.text_projection
        return int(proj.shape[1] if isinstance(proj, torch.Tensor) else proj.out_features)

    def prompts(self, class_names: Sequence[str]) -> Tuple[str, ...]:
        """The ``K * P`` prompt strings, class-major (all templates of class 0 first)."""
        return tuple(t.format(self.class_prompts.get(n, n)) for n in class_names for t in self.templates)

    def _cacheable(self) -> bool:
        return self.freeze or not self.training

    def encode(self, class_names: Sequence[str]) -> torch.Tensor:
        """L2-normalised embeddings of every (class, template): ``(K, P, D)`` float32."""
        class_names = tuple(class_names)
        if not class_names:
            raise ValueError('OpenCLIPTextEncoder.encode needs at least one class name')
        prompts = self.prompts(class_names)
        ref = self.clip.token_embedding.weight
        key = (self.model_name, self.templates, prompts, ref.device, ref.dtype)
        if self._cacheable() and key in self._cache:
            return self._cache[key]
        tokens = self.tokenizer(list(prompts)).to(ref.device)  # (K*P, context_length)
        grad = torch.enable_grad() if not self.freeze and self.training else torch.no_grad()
        with grad:
            emb = self.clip.encode_text(tokens).float()  # (K*P, D): EOT token @ text_projection
        emb = F.normalize(emb, dim=-1).view(len(class_names), len(self.templates), -1)
        if self._cacheable():
            emb = emb.detach()
            self._cache[key] = emb
            while len(self._cache) > 16:  # a few vocabularies (train + several test sets); bound the memory
                self._cache.popitem(last=False)
        return emb

    def forward(self, class_names: Sequence[str]) -> torch.Tensor:
        """Class embeddings ``(K, D)``: template embeddings averaged and re-normalised (P = 1: unchanged)."""
        emb = self.encode(class_names)
        return emb[:, 0] if emb.shape[1] == 1 else F.normalize(emb.mean(1), dim=-1)

    def extra_repr(self) -> str:
        return f'model={self.model_name}, templates={self.templates}, freeze={self.freeze}'


"""Split the packed ``in_proj_weight`` of ``nn.MultiheadAttention`` into separate q/k/v Parameters.

Why: RSKT-Seg (and CAT-Seg) fine-tune only the **query and value** projections of CLIP's attention. With the
packed ``(3E, E)`` matrix that is impossible to express with ``requires_grad``, and a gradient mask is not enough
(AdamW's decoupled weight decay would still move the frozen key rows). PyTorch's MHA has a built-in layout with
separate ``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` (``_qkv_same_embed_dim=False``); its forward then
takes the separate-weight path, so callers (open_clip's ``encode_text``/``encode_image``) keep working unchanged.
The packed ``in_proj_bias`` stays packed (frozen in RSKT-Seg).

* :func:`split_mha_in_proj` -- convert every MHA of a module in place (outputs unchanged).
* :func:`split_in_proj_state_dict` -- convert a *packed* state dict (an OpenAI/open_clip checkpoint) to the split
  key layout of a converted module, so pretrained files load after the split.
* :func:`set_qv_trainable` -- ``requires_grad`` on exactly the q and v weights.
"""
from typing import Dict, Iterable, Mapping

import torch
import torch.nn as nn

__all__ = ['split_mha_in_proj', 'split_in_proj_state_dict', 'set_qv_trainable', 'QKV_NAMES']

#: parameter names of the split layout
QKV_NAMES = ('q_proj_weight', 'k_proj_weight', 'v_proj_weight')


def split_mha_in_proj(module: nn.Module) -> int:
    """Convert every ``nn.MultiheadAttention`` under ``module`` (itself included) to separate q/k/v weights.

    ``in_proj_weight (3E, E)`` -> ``q_proj_weight, k_proj_weight, v_proj_weight`` (each ``(E, E)``), values copied,
    ``requires_grad`` inherited. Already-split modules are left alone. Returns the number of modules converted.
    """
    n = 0
    for m in module.modules():
        if not isinstance(m, nn.MultiheadAttention) or not m._qkv_same_embed_dim:
            continue
        w = m.in_proj_weight
        e = m.embed_dim
        for name, chunk in zip(QKV_NAMES, w.detach().split(e, dim=0)):
            setattr(m, name, nn.Parameter(chunk.clone(), requires_grad=w.requires_grad))
        # MHA checks `in_proj_weight is None` / `_qkv_same_embed_dim` to pick the separate-weight path
        del m.in_proj_weight
        m.register_parameter('in_proj_weight', None)
        m._qkv_same_embed_dim = False
        n += 1
    return n


def split_in_proj_state_dict(state_dict: Mapping[str, torch.Tensor],
                             target_keys: Iterable[str]) -> Dict[str, torch.Tensor]:
    """Rewrite packed ``<p>.in_proj_weight`` entries as ``<p>.{q,k,v}_proj_weight`` where the target module
    (``target_keys`` = its ``state_dict().keys()``) has the split layout. Everything else passes through, so this
    is a no-op for unsplit targets."""
    target = set(target_keys)
    out = {}
    for k, v in state_dict.items():
        if k.endswith('in_proj_weight') and k not in target:
            prefix = k[:-len('in_proj_weight')]
            if prefix + 'q_proj_weight' in target and v.shape[0] % 3 == 0:
                for name, chunk in zip(QKV_NAMES, v.chunk(3, dim=0)):
                    out[prefix + name] = chunk
                continue
        out[k] = v
    return out


def set_qv_trainable(module: nn.Module) -> int:
    """Freeze ``module`` except the q and v projection weights of its (split) MHAs. Returns the trainable count.

    Raises if an MHA under ``module`` still has the packed layout (call :func:`split_mha_in_proj` first).
    """
    module.requires_grad_(False)
    n = 0
    for m in module.modules():
        if isinstance(m, nn.MultiheadAttention):
            if m._qkv_same_embed_dim:
                raise RuntimeError('set_qv_trainable needs split q/k/v weights; call split_mha_in_proj first')
            for p in (m.q_proj_weight, m.v_proj_weight):
                p.requires_grad_(True)
                n += p.numel()
    return n

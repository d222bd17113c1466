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
* :func:`split_in_proj` / :func:`merge_in_proj` -- the state-dict chunking both ways, for the keys a caller picks
  (also used by ``tools/model_converters/rsktseg2mmseg.py``).
* :func:`set_qv_trainable` -- ``requires_grad`` on exactly the q and v weights.
"""
from typing import Callable, Dict, Iterable, Mapping, Tuple

import torch
import torch.nn as nn

__all__ = ['split_mha_in_proj', 'split_in_proj', 'merge_in_proj', 'split_in_proj_state_dict', 'set_qv_trainable',
           'QKV_NAMES']

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


def split_in_proj(state_dict: Mapping[str, torch.Tensor], select: Callable[[str], bool],
                  clone: bool = False) -> Tuple[Dict[str, torch.Tensor], int]:
    """Rewrite ``<p>in_proj_weight (3E, E)`` as ``<p>{q,k,v}_proj_weight`` (each ``(E, E)``, rows in that order)
    for every prefix ``<p>`` that ``select(p)`` accepts; everything else passes through. Exact (a row split).
    Returns the new dict and the number of matrices split."""
    out, n = {}, 0
    for k, v in state_dict.items():
        prefix = k[:-len('in_proj_weight')] if k.endswith('in_proj_weight') else None
        if prefix is not None and v.shape[0] % 3 == 0 and select(prefix):
            for name, chunk in zip(QKV_NAMES, v.chunk(3, dim=0)):
                out[prefix + name] = chunk.clone() if clone else chunk
            n += 1
            continue
        out[k] = v
    return out, n


def merge_in_proj(state_dict: Mapping[str, torch.Tensor], select: Callable[[str], bool]
                  ) -> Tuple[Dict[str, torch.Tensor], int]:
    """The inverse of :func:`split_in_proj`: ``<p>{q,k,v}_proj_weight`` -> ``<p>in_proj_weight = cat([q, k, v])``
    for every prefix ``<p>`` holding all three that ``select(p)`` accepts (exact). Returns the new dict and the
    number of matrices merged."""
    q = QKV_NAMES[0]
    prefixes = {k[:-len(q)] for k in state_dict if k.endswith(q)}
    prefixes = {p for p in prefixes if select(p) and all(p + name in state_dict for name in QKV_NAMES)}
    out = {}
    for k, v in state_dict.items():
        prefix = k[:-len(q)] if k.endswith(QKV_NAMES) else None
        if prefix in prefixes:
            if k.endswith(q):  # the merged matrix takes the place of q
                out[prefix + 'in_proj_weight'] = torch.cat([state_dict[prefix + name] for name in QKV_NAMES], dim=0)
            continue
        out[k] = v
    return out, len(prefixes)


def split_in_proj_state_dict(state_dict: Mapping[str, torch.Tensor],
                             target_keys: Iterable[str]) -> Dict[str, torch.Tensor]:
    """Rewrite packed ``<p>.in_proj_weight`` entries as ``<p>.{q,k,v}_proj_weight`` where the target module
    (``target_keys`` = its ``state_dict().keys()``) has the split layout. Everything else passes through, so this
    is a no-op for unsplit targets."""
    target = set(target_keys)
    return split_in_proj(state_dict,
                         lambda p: p + 'in_proj_weight' not in target and p + 'q_proj_weight' in target)[0]


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

"""RSKT-Seg: open-vocabulary segmentor (Li et al., AAAI 2026; docs/methods/rskt_seg.md).

backbone (CLIP, 4 rotated passes + text tower, q/v trainable) + frozen RemoteCLIP + frozen RS-DINO -> neck (RS-CMA
cost maps + RS-Fusion) -> head (RS-Transfer) -> one sigmoid logit per class name. The class names are data: they
can change between training and testing and between calls, without rebuilding anything.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.logging import print_log
from torch import Tensor

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from ..text.vocabulary import VocabularyLike, load_vocabulary
from .batched_slide import BatchedSlideMixin

__all__ = ['RSKTSeg']


@MODELS.register_module()
class RSKTSeg(BatchedSlideMixin, EncoderDecoder):
    """Open-vocabulary ``EncoderDecoder`` with a per-call vocabulary.

    Where the class names come from, first match wins (``mode`` = ``'train'`` in ``loss``, ``'test'`` otherwise):

    1. the samples' metainfo ``'vocabulary'`` (a dataset may inject it; one vocabulary per batch, else an error);
    2. :meth:`set_vocabulary` (API use, e.g. ``inference_model`` on your own images);
    3. ``train_vocabulary`` / ``test_vocabulary`` of the config (list of names or a text file, one per line);
    4. the dataset's ``metainfo['classes']``, passed in by :class:`~rsseg_ext.engine.hooks.VocabularyHook`
       (train dataset for ``loss``, val/test dataset for prediction);
    5. ``dataset_meta['classes']`` (set by ``mmseg.apis.init_model`` from the checkpoint);
    6. for prediction only: the training vocabulary (3, then 4).

    Text embeddings are computed by the backbone's text tower (trainable q/v: recomputed with gradients every
    training step) and cached per vocabulary in eval mode; the cache is cleared on ``train()`` and on
    ``load_state_dict``, so in-training validation never sees stale embeddings. Names with ``', '`` use the first
    synonym.

    Args:
        backbone: :class:`~rsseg_ext.models.backbones.OpenCLIPDenseBackbone` config.
        decode_head: :class:`~rsseg_ext.models.decode_heads.RSKTHead` config.
        neck: :class:`~rsseg_ext.models.necks.RSKTCostAggregator` config.
        remote_clip: :class:`~rsseg_ext.models.backbones.OpenCLIPIntermediateEncoder` config, or None (no
            RemoteCLIP guidance; the head's ``use_remote_clip_guidance`` must be False then).
        dino: :class:`~rsseg_ext.models.backbones.DINOViTEncoder` config, or None (no DINO cost/guidance).
        train_vocabulary, test_vocabulary: optional fixed vocabularies (names or file paths).
        train_cfg, test_cfg, data_preprocessor, pretrained, init_cfg: as ``EncoderDecoder``; ``test_cfg.mode``
            ``'whole'`` (the paper) or ``'slide'`` (the package's slide engine, any vocabulary size);
            ``test_cfg.release_pad_divisor`` (release-compatible mode, e.g. 32): in whole mode, pad the normalised
            input with 0 at the bottom/right to a multiple of it before the encoders (the release's detectron2
            ``ImageList.from_tensors(size_divisibility=32)``) and resize the prediction of the padded frame to the
            image without cropping the padding back (what the release's ``sem_seg_postprocess`` does when the
            output is smaller than the image). ``None`` (default): no padding.

    Vocabulary files given as relative paths are looked up in the working directory, then in the directory that
    holds ``configs/`` (the repository checkout); the shipped configs give absolute paths next to the config file.
    """

    def __init__(self,
                 backbone: dict,
                 decode_head: dict,
                 neck: dict,
                 remote_clip: Optional[dict] = None,
                 dino: Optional[dict] = None,
                 train_vocabulary: Optional[VocabularyLike] = None,
                 test_vocabulary: Optional[VocabularyLike] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(backbone=backbone, decode_head=decode_head, neck=neck, train_cfg=train_cfg,
                         test_cfg=ConfigDict(test_cfg or dict(mode='whole')), data_preprocessor=data_preprocessor,
                         pretrained=pretrained, init_cfg=init_cfg)
        self.remote_clip = MODELS.build(remote_clip) if remote_clip is not None else None
        self.dino = MODELS.build(dino) if dino is not None else None
        self._vocab_cfg: Dict[str, Optional[VocabularyLike]] = dict(train=train_vocabulary, test=test_vocabulary)
        self._vocab_loaded: Dict[str, Tuple[str, ...]] = {}
        self._explicit_vocabulary: Optional[Tuple[str, ...]] = None
        self._dataset_vocabulary: Dict[str, Tuple[str, ...]] = {}
        self._last_vocabulary: Tuple[str, ...] = ()

    # ------------------------------------------------------------------ vocabulary
    def set_vocabulary(self, names: Optional[Sequence[str]]) -> None:
        """Use ``names`` for every call that carries no per-sample vocabulary (``None`` unsets). Also sets
        ``dataset_meta`` (classes + a generated palette) so visualisers show the right legend."""
        if names is None:
            self._explicit_vocabulary = None
            return
        names = load_vocabulary(names)
        self._explicit_vocabulary = names
        rng = np.random.RandomState(42)
        self.dataset_meta = dict(classes=names, palette=rng.randint(0, 256, (len(names), 3)).tolist())

    def set_dataset_vocabulary(self, names: Sequence[str], mode: str) -> None:
        """The vocabulary of the dataset of the current loop (``mode``: 'train' or 'test'); called by
        :class:`VocabularyHook`."""
        self._dataset_vocabulary[mode] = load_vocabulary(names)

    def _configured(self, mode: str) -> Optional[Tuple[str, ...]]:
        if self._vocab_cfg.get(mode) is None:
            return None
        if mode not in self._vocab_loaded:
            self._vocab_loaded[mode] = load_vocabulary(self._vocab_cfg[mode], what=f'model.{mode}_vocabulary')
        return self._vocab_loaded[mode]

    def resolve_vocabulary(self, batch_img_metas: Sequence[dict] = (), mode: str = 'test') -> Tuple[str, ...]:
        """The class names for this call (see the class docstring for the order)."""
        given = [m.get('vocabulary') for m in batch_img_metas or ()]
        if any(v is not None for v in given):
            vocabs = {tuple(v) if v is not None else None for v in given}
            if len(vocabs) != 1:
                raise ValueError(f'all samples of a batch must share one vocabulary, got {len(vocabs)} different '
                                 f'ones (use batch_size=1 or group samples by dataset)')
            return vocabs.pop()
        modes = (mode, ) if mode == 'train' else (mode, 'train')
        # lazily, first match wins: a configured vocabulary file is only read when nothing before it answered
        candidates = [lambda: self._explicit_vocabulary, lambda: self._configured(mode),
                      lambda: self._dataset_vocabulary.get(mode),
                      lambda: tuple((getattr(self, 'dataset_meta', None) or {}).get('classes') or ()) or None]
        if mode != 'train':
            candidates += [lambda: self._configured('train'), lambda: self._dataset_vocabulary.get('train')]
        for get in candidates:
            names = get()
            if names:
                return tuple(names)
        raise ValueError(f'RSKTSeg has no vocabulary for {"/".join(modes)}: give the samples a "vocabulary" meta '
                         f'key, call model.set_vocabulary([...names...]), set model.{mode}_vocabulary in the config '
                         f'(a list or a file with one name per line), or add dict(type="VocabularyHook") to '
                         f'custom_hooks so the dataset\'s metainfo["classes"] is used.')

    def get_text_embeddings(self, names: Sequence[str]) -> Tensor:
        """``(T, P, Ce)`` normalised embeddings of the prompts of ``names`` (first synonym of ``'a, b'`` names);
        cached per vocabulary in eval mode by the backbone's text encoder."""
        names = tuple(str(n).split(', ')[0] for n in names)
        if names != self._last_vocabulary:  # say once which names are in use (train, each test set, ...)
            self._last_vocabulary = names
            print_log(f'RSKTSeg vocabulary ({len(names)} names): {", ".join(names)}', logger='current')
        return self.backbone.encode_text(names)

    # ------------------------------------------------------------------ forward
    def extract_feat(self, inputs: Tensor, names: Optional[Sequence[str]] = None) -> Dict:
        """Features of all encoders + text, aggregated by the neck: a dict with ``cost (B, C, T, g, g)`` and the
        guidance features for the head."""
        if names is None:
            names = self.resolve_vocabulary((), 'train' if self.training else 'test')
        feats = dict(self.backbone(inputs))
        feats['text'] = self.get_text_embeddings(names)
        if self.remote_clip is not None:
            feats['rclip_inter'] = self.remote_clip(inputs)
        if self.dino is not None:
            feats['dino'] = self.dino(inputs)
        return self.neck(feats)

    def release_pad(self, inputs: Tensor) -> Tensor:
        """``(B, 3, H, W)`` -> zero-padded at the bottom/right to a multiple of ``test_cfg.release_pad_divisor``
        (unchanged when it is ``None`` or the sides are multiples already; 450 -> 480 with 32)."""
        cfg = self.test_cfg or {}
        d = cfg.get('release_pad_divisor')
        if not d or cfg.get('mode', 'whole') != 'whole':  # slide windows are whole frames of their own
            return inputs
        h, w = inputs.shape[-2:]
        ph, pw = -h % int(d), -w % int(d)
        return F.pad(inputs, (0, pw, 0, ph), value=0.0) if ph or pw else inputs

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Per-class probabilities ``(B, T, H, W)`` (sigmoid, resized to ``img_shape``)."""
        names = self.resolve_vocabulary(batch_img_metas, 'test')
        if len(names) < 2:
            raise ValueError(f'open-vocabulary prediction needs at least 2 class names (got {list(names)}); add a '
                             f'background/"other" name (mmseg treats one output channel as a binary threshold)')
        x = self.extract_feat(self.release_pad(inputs), names)
        return self.decode_head.predict(x, batch_img_metas, self.test_cfg)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        names = self.resolve_vocabulary([ds.metainfo for ds in data_samples], 'train')
        x = self.extract_feat(inputs, names)
        return self._decode_head_forward_train(x, data_samples)

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Tensor:
        metas = [ds.metainfo for ds in data_samples] if data_samples else []
        names = self.resolve_vocabulary(metas, 'train' if self.training else 'test')
        return self.decode_head.forward(self.extract_feat(inputs, names))

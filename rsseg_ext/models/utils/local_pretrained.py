"""``init_cfg=dict(type='LocalPretrained', checkpoint=..., prefix=..., source=...)``: mmengine's ``Pretrained``
initialiser restricted to local files, with an actionable error when the file is missing (nothing downloads)."""
import os.path as osp
from typing import Optional

from mmengine.model.weight_init import PretrainedInit

from mmseg.registry import WEIGHT_INITIALIZERS


@WEIGHT_INITIALIZERS.register_module(name='LocalPretrained')
class LocalPretrainedInit(PretrainedInit):
    """Load (part of) a local checkpoint into a module, like mmengine's ``Pretrained``.

    Args:
        checkpoint: local path, relative to the working directory (e.g. ``checkpoints/<file>.pth``).
            URLs are refused: weights must be fetched by the user, once, outside training.
        prefix: keep only keys starting with it and strip it (``'backbone.'`` for classification checkpoints).
        map_location: ``torch.load`` map location.
        source: where the file comes from (URL or instructions), quoted in the error when it is missing.
    """

    def __init__(self, checkpoint: str, prefix: Optional[str] = None, map_location: str = 'cpu',
                 source: Optional[str] = None) -> None:
        super().__init__(checkpoint, prefix=prefix, map_location=map_location)
        self.source = source

    def __call__(self, module) -> None:
        path = self.checkpoint
        if '://' in str(path):
            raise ValueError(f'LocalPretrained takes a local file, got the URL {path!r}: download it yourself '
                             'and point init_cfg.checkpoint at the file.')
        if not osp.isfile(osp.expanduser(path)):
            where = f'\n  Get it from: {self.source}' if self.source else ''
            raise FileNotFoundError(
                f'Pretrained weights for {type(module).__name__} not found: {path} '
                f'(resolved to {osp.abspath(osp.expanduser(path))}).{where}\n'
                f'  Put the file at that path (relative paths are relative to the directory you run the tools '
                f'from), or set model.backbone.init_cfg.checkpoint=<your path>, or init_cfg=None to train from '
                f'scratch. rsseg_ext never downloads weights.')
        super().__call__(module)

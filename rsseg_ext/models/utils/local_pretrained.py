"""``init_cfg=dict(type='LocalPretrained', checkpoint=..., prefix=..., source=...)``: mmengine's ``Pretrained``
initialiser restricted to local files, with an actionable error when the file is missing (nothing downloads)."""
from typing import Optional

from mmengine.model.weight_init import PretrainedInit

from mmseg.registry import WEIGHT_INITIALIZERS

from .weight_loading import require_local_file


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
        # init_cfg=None (train from scratch) goes into `what`: the config key is quoted as `KEY=<your path>`
        require_local_file(self.checkpoint, f'Pretrained weights for {type(module).__name__} (init_cfg=None trains '
                           'it from scratch)', self.source, config_key='init_cfg.checkpoint')
        super().__call__(module)

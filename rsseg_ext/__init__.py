"""rsseg_ext: remote-sensing segmentation methods for mmsegmentation 1.x.

``import rsseg_ext`` (or ``custom_imports=dict(imports=['rsseg_ext'])`` in a config) registers every module
into mmseg's registries (MODELS, DATASETS, TRANSFORMS, METRICS, HOOKS, OPTIMIZERS) and installs the
checkpoint-loading policy (see :mod:`rsseg_ext.engine.checkpoint`).
"""
from .version import __version__
from mmengine.config.utils import MODULE2PACKAGE as _MODULE2PACKAGE

# `_base_ = ['rsseg_ext::d2ls/<config>.py']` (mmengine resolves it through the installed rsseg_ext/.mim/configs)
_MODULE2PACKAGE.setdefault('rsseg_ext', 'rsseg_ext')
from .utils.torch_stack import require_torchvision as _require_torchvision  # noqa: E402

_require_torchvision()  # one line naming the torchvision of the user's torch, not mmpretrain's bare ImportError
from . import engine  # noqa: F401,E402  (first: the checkpoint policy must be in place before any load)
from . import apis, datasets, evaluation, models  # noqa: F401,E402

__all__ = ['__version__']

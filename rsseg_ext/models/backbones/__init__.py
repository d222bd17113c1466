__all__: list = []
from .kk_vit import NKKViT  # noqa: E402

__all__ += ['NKKViT']


__all__: list = []
from .kk_vit import NKKViT  # noqa: E402

__all__ += ['NKKViT']
from .dino_vit import DINOViTEncoder  # noqa: E402
from .openclip_dense import OpenCLIPDenseBackbone  # noqa: E402
from .openclip_intermediate import OpenCLIPIntermediateEncoder  # noqa: E402

__all__ += ['DINOViTEncoder', 'OpenCLIPDenseBackbone', 'OpenCLIPIntermediateEncoder']
from .convnext_no_out_norm import ConvNeXtNoOutNorm  # noqa: E402

__all__ += ['ConvNeXtNoOutNorm']
from .padded_stem_vgg import PaddedStemVGG  # noqa: E402

__all__ += ['PaddedStemVGG']
from .repvit import RepViT  # noqa: E402

__all__ += ['RepViT']

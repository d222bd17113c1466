from .block_ops import BlockPartition, block_starts
from .dct import DCTChannelAttention
from .pos_encoding import PEG, SinCos2DPE
from .rope2d import ROPE2D
from .scene_coupling_attention import SceneCouplingAttention
from .semantic_mask import SemanticMaskGenerator

__all__: list = [
    'BlockPartition', 'block_starts', 'DCTChannelAttention', 'PEG', 'SinCos2DPE', 'ROPE2D',
    'SceneCouplingAttention', 'SemanticMaskGenerator'
]
from .cross_attention import CrossAttention
from .dist_ops import all_gather_with_grad
from .layer_norm_2d import LayerNorm2d
from .random_fourier_pe import RandomFourierPE
__all__ += ['CrossAttention', 'all_gather_with_grad', 'LayerNorm2d', 'RandomFourierPE']
from .local_pretrained import LocalPretrainedInit
__all__ += ['LocalPretrainedInit']
from .weight_loading import LoadReport, WeightsNotFoundError, load_local_state_dict, load_weights, require_local_file
__all__ += ['LoadReport', 'WeightsNotFoundError', 'load_local_state_dict', 'load_weights', 'require_local_file']
from .weight_conversion import set_qv_trainable, split_in_proj_state_dict, split_mha_in_proj  # noqa: E402
__all__ += ['set_qv_trainable', 'split_in_proj_state_dict', 'split_mha_in_proj']
from .gated_pos_embed import GatedPositionalEmbedding  # noqa: E402
from .lcc import LocalityAwareContextCorrelation  # noqa: E402
from .mcf import MultiContextFusion  # noqa: E402
from .lfi import LocalFeatureInteraction  # noqa: E402
from .ale import AlternatingLocalEnhancement, crop_resize  # noqa: E402
__all__ += ['GatedPositionalEmbedding', 'LocalityAwareContextCorrelation', 'MultiContextFusion',
            'LocalFeatureInteraction', 'AlternatingLocalEnhancement', 'crop_resize']
from .weight_conversion import (ConversionReport, DropRule, KeyConverter, KeyRule,  # noqa: E402
                                convert_state_dict)
__all__ += ['ConversionReport', 'DropRule', 'KeyConverter', 'KeyRule', 'convert_state_dict']

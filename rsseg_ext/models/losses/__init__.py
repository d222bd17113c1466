from .focal_loss import SoftmaxFocalLoss, softmax_focal_loss

__all__ = ['SoftmaxFocalLoss', 'softmax_focal_loss']
from .dict_contrastive_loss import DictContrastiveLoss
from .multiclass_dice_loss import MultiClassDiceLoss
from .soft_cross_entropy_loss import SoftCrossEntropyLoss
__all__ += ['DictContrastiveLoss', 'MultiClassDiceLoss', 'SoftCrossEntropyLoss']
from .vl_align_loss import VLAlignLoss, vl_align_loss  # noqa: E402

__all__ += ['VLAlignLoss', 'vl_align_loss']
from .ov_bce_loss import OpenVocabBCELoss  # noqa: E402

__all__ += ['OpenVocabBCELoss']

from .focal_loss import SoftmaxFocalLoss, softmax_focal_loss

__all__ = ['SoftmaxFocalLoss', 'softmax_focal_loss']

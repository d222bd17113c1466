# Staged protocol, final stage: the three-branch model whose context trunks come from stages 2 and 3 and stay
# frozen (eval mode, no gradients); the rest starts from stage 2 (load_from). End-to-end training of everything
# (the recommended default) is configs/fctl/fctl_vgg16_4xb6-32k_inria-508x508.py.
_base_ = ['../fctl_vgg16_4xb6-32k_inria-508x508.py']
# the stages' work_dirs and sources below are their pre-rename paths (still valid for one release): train stages 2
# and 3 with configs/fctl/staged/fctl_vgg16_single-ctx-x{2,3}_inria.py, or set these paths
model = dict(
    freeze_context_backbone=True,
    context_backbone_init=[
        dict(type='LocalPretrained', checkpoint='work_dirs/fctl_vgg16_single-ctx-x2_inria/best_mIoU.pth',
             prefix='context_backbones.0.', source='stage 2: configs/fctl/staged/fctl_vgg16_single-ctx-x2_inria.py'),
        dict(type='LocalPretrained', checkpoint='work_dirs/fctl_vgg16_single-ctx-x3_inria/best_mIoU.pth',
             prefix='context_backbones.0.', source='stage 3: configs/fctl/staged/fctl_vgg16_single-ctx-x3_inria.py'),
    ])
# the best_mIoU.pth paths stand for stages 2/3's best checkpoints (saved as best_mIoU_iter_<N>.pth: set the real names)
load_from = 'work_dirs/fctl_vgg16_single-ctx-x2_inria/best_mIoU.pth'

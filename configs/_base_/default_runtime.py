# Runtime shared by every rsseg_ext config (mirrors mmseg's default_runtime.py).
default_scope = 'mmseg'
custom_imports = dict(imports=['rsseg_ext'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches this to gloo (and SyncBN to BN) when no CUDA is present
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
# records the sha256 of saved checkpoints so --resume / tools/test.py may unpickle exactly those files
custom_hooks = [dict(type='CheckpointManifestHook')]

tta_model = dict(type='SegTTAModel')

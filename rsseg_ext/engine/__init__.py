from .checkpoint import (BadCheckpointError, UntrustedCheckpointError, install_loader,
                         is_trusted, load_checkpoint_file, record_checkpoint, trust_checkpoint,
                         trust_config_checkpoints)
from .dist_utils import setup_cpu_distributed, teardown_distributed, use_dist_safe_logger
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403

install_loader()

__all__ = [
    'BadCheckpointError', 'CheckpointManifestHook', 'UntrustedCheckpointError', 'install_loader', 'is_trusted',
    'load_checkpoint_file', 'record_checkpoint', 'trust_checkpoint', 'trust_config_checkpoints', 'setup_cpu_distributed',
    'teardown_distributed', 'use_dist_safe_logger'
]

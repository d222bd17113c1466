from .checkpoint_manifest_hook import CheckpointManifestHook
from .dist_safe_logger_hook import DistSafeLoggerHook

__all__ = ['CheckpointManifestHook', 'DistSafeLoggerHook']

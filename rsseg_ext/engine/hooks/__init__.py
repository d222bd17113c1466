from .checkpoint_manifest_hook import CheckpointManifestHook
from .dist_safe_logger_hook import DistSafeLoggerHook

__all__ = ['CheckpointManifestHook', 'DistSafeLoggerHook']
from .vocabulary_hook import VocabularyHook  # noqa: E402

__all__ += ['VocabularyHook']

from .checkpoint_manifest_hook import CheckpointManifestHook

__all__ = ['CheckpointManifestHook']

from .clip_text_encoder import OpenCLIPTextEncoder, build_open_clip

__all__ = ['OpenCLIPTextEncoder', 'build_open_clip']
from .vocabulary import apply_vocabulary, load_vocabulary  # noqa: E402

__all__ += ['apply_vocabulary', 'load_vocabulary']

from .clip_text_encoder import OpenCLIPTextEncoder, build_open_clip

__all__ = ['OpenCLIPTextEncoder', 'build_open_clip']
from .vocabulary import load_vocabulary  # noqa: E402

__all__ += ['load_vocabulary']

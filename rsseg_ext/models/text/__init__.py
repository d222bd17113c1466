from .clip_text_encoder import OpenCLIPTextEncoder, build_open_clip

__all__ = ['OpenCLIPTextEncoder', 'build_open_clip']

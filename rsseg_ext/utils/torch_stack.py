"""The user's torch decides the torchvision to install (rsseg_ext never installs or replaces torch).

torchvision 0.(x+15) is the release built for torch 2.x (torch 2.0 / torchvision 0.15 onwards; the compatibility
table of the torchvision README). An unpinned ``pip install torchvision`` takes the newest one, which requires the
newest torch and so replaces the user's build (CPU -> CUDA wheels, or another CUDA version).
"""
import importlib.util
import re
from typing import Optional

__all__ = ['matching_torchvision', 'torchvision_install_hint', 'require_torchvision']


def matching_torchvision(torch_version: str) -> Optional[str]:
    """``'2.13.0+cu121'`` -> ``'0.28.*'``; ``None`` for a version outside torch 2.x."""
    m = re.match(r'2\.(\d+)\.', torch_version)
    return f'0.{int(m.group(1)) + 15}.*' if m else None


def torchvision_install_hint(packages: str = '') -> str:
    """A pip command that installs ``packages`` next to the torchvision of the installed torch."""
    try:
        import torch
        version = torch.__version__
    except ImportError:
        return 'install torch (your CPU or CUDA build) first'
    tv = matching_torchvision(version)
    pin = f"'torchvision=={tv}'" if tv else 'the torchvision release built for it'
    return (f'pip install {pin} {packages}'.rstrip() + f' (torchvision for your torch {version}; an unpinned '
            'torchvision would pull the newest torch and replace yours)')


def require_torchvision() -> None:
    """mmpretrain imports torchvision without declaring it; say which one to install instead of a bare
    ``No module named 'torchvision.ops'``."""
    if importlib.util.find_spec('torchvision') is None:
        raise ImportError(f'rsseg_ext needs torchvision (mmpretrain imports it): {torchvision_install_hint()}.')

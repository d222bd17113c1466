from .synthetic import SyntheticLandCoverDataset
from .uavid import UAVidDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['SyntheticLandCoverDataset', 'UAVidDataset']

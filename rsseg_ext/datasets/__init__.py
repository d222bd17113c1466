from .cloud import L8BiomeCloudDataset
from .dlrsd import DLRSDDataset
from .gid import GIDDataset
from .grass import GrassDataset
from .synthetic import SyntheticLandCoverDataset
from .uavid import UAVidDataset
from .udd5 import UDD5Dataset
from .vdd import VDDDataset
from .transforms import *  # noqa: F401,F403

__all__ = ['L8BiomeCloudDataset', 'DLRSDDataset', 'GIDDataset', 'GrassDataset', 'UDD5Dataset', 'VDDDataset',
           'SyntheticLandCoverDataset', 'UAVidDataset']
from .deepglobe import DeepGlobeLandCoverDataset  # noqa: E402
from .inria import InriaAerialDataset  # noqa: E402
from .uhr_patch_dataset import UHRPatchDataset  # noqa: E402
__all__ += ['DeepGlobeLandCoverDataset', 'InriaAerialDataset', 'UHRPatchDataset']

__all__: list = []
from .d2ls_head import D2LSHead
__all__ += ['D2LSHead']
from .scsm_head import SCSMContext, SCSMHead  # noqa: E402

__all__ += ['SCSMContext', 'SCSMHead']
from .logcanplus_head import LocalClassAttention, LOGCANPlusHead  # noqa: E402

__all__ += ['LocalClassAttention', 'LOGCANPlusHead']
from .lovlanet_head import LoVLANetHead  # noqa: E402

__all__ += ['LoVLANetHead']
from .rskt_head import RSKTHead  # noqa: E402

__all__ += ['RSKTHead']
from .fcn8s_head import FCN8sHead  # noqa: E402

__all__ += ['FCN8sHead']

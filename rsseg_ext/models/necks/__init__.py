__all__: list = []
from .rs_fusion import ClassPoolBlock, RSFusionLayer, SpatialReductionBlock  # noqa: E402
from .rskt_cost_aggregator import RSKTCostAggregator  # noqa: E402

__all__ += ['ClassPoolBlock', 'RSFusionLayer', 'SpatialReductionBlock', 'RSKTCostAggregator']
from .lcf_ale_fusion import LCFALEFusion  # noqa: E402
__all__ += ['LCFALEFusion']

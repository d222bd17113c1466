from .batched_slide import (BATCHED_SLIDE_TYPES, BatchedSlideCascadeEncoderDecoder, BatchedSlideEncoderDecoder,
                            BatchedSlideMixin, use_batched_slide)

__all__: list = [
    'BatchedSlideMixin', 'BatchedSlideEncoderDecoder', 'BatchedSlideCascadeEncoderDecoder', 'use_batched_slide',
    'BATCHED_SLIDE_TYPES'
]
from .rskt_seg import RSKTSeg  # noqa: E402

__all__ += ['RSKTSeg']
from .multi_context_data_preprocessor import MultiContextSegDataPreProcessor  # noqa: E402
from .fctl import MultiContextEncoderDecoder  # noqa: E402
__all__ += ['MultiContextSegDataPreProcessor', 'MultiContextEncoderDecoder']

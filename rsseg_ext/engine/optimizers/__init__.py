from .lookahead import LookaheadAdamW

__all__ = ['LookaheadAdamW']

"""Hand the dataset's class names (metainfo ``classes``) to text-classifier heads (LoVLANet).

A head with ``class_names=None`` gets the vocabulary of the dataset it is about to see: the training set before
training, the val/test set before each evaluation (so a test set with another vocabulary is re-encoded; the text
cache is keyed by the prompts). A head with an explicit ``class_names`` is left alone unless ``override=True``.
"""
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS

__all__ = ['TextVocabularyHook']


@HOOKS.register_module()
class TextVocabularyHook(Hook):
    """Call ``set_class_names(dataset.metainfo['classes'])`` on every module of the model that has it.

    Args:
        override: also replace vocabularies given explicitly in the config.
    """
    priority = 'VERY_HIGH'

    def __init__(self, override: bool = False) -> None:
        self.override = override

    def _apply(self, runner, loader) -> None:
        dataset = getattr(loader, 'dataset', None) if loader is not None else None
        classes: Optional[Sequence[str]] = (getattr(dataset, 'metainfo', None) or {}).get('classes')
        if not classes:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for m in model.modules():
            if hasattr(m, 'set_class_names') and (self.override or getattr(m, 'class_names', None) is None):
                m.set_class_names(classes)

    def before_train(self, runner) -> None:
        self._apply(runner, runner.train_dataloader)

    def before_val(self, runner) -> None:
        self._apply(runner, runner.val_dataloader)

    def before_test(self, runner) -> None:
        self._apply(runner, runner.test_dataloader)

"""The one hook that hands each loop's dataset class names to text-classifier models (RSKT-Seg, LoVLANet)."""
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS

__all__ = ['VocabularyHook']


@HOOKS.register_module()
class VocabularyHook(Hook):
    """Before training, validation and testing, hand ``metainfo['classes']`` of that loop's dataset to the model.

    Two receivers, whichever the model has:

    * ``model.set_dataset_vocabulary(classes, mode)`` (RSKT-Seg) with mode ``'train'`` for training and ``'test'``
      for val/test: the model keeps one vocabulary per mode, so in-training validation on another vocabulary never
      changes what training uses;
    * ``set_class_names(classes)`` on every submodule that has it (LoVLANet's head; one vocabulary): set before
      val/test and set back to the training names after each validation. Modules whose ``class_names`` were given
      in the config are left alone unless ``override=True``.

    Args:
        override: also replace vocabularies given explicitly in the config (``set_class_names`` receivers).
    """

    priority = 'VERY_HIGH'

    def __init__(self, override: bool = False) -> None:
        self.override = override
        self._managed: Optional[set] = None  # ids of set_class_names modules this hook feeds
        self._train_classes: Optional[tuple] = None

    @staticmethod
    def _classes(runner, loop_name: str) -> Optional[tuple]:
        loop = getattr(runner, loop_name, None)
        dataset = getattr(getattr(loop, 'dataloader', None), 'dataset', None)
        classes: Optional[Sequence[str]] = (getattr(dataset, 'metainfo', None) or {}).get('classes')
        return tuple(classes) if classes else None

    def _apply(self, runner, classes: Optional[tuple], mode: str) -> None:
        if not classes:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        setter = getattr(model, 'set_dataset_vocabulary', None)
        if setter is not None:
            setter(classes, mode)
        receivers = [m for m in model.modules() if hasattr(m, 'set_class_names')]
        if self._managed is None:  # decided once, before any vocabulary was set by this hook
            self._managed = {id(m) for m in receivers
                             if self.override or getattr(m, 'class_names', None) is None}
        for m in receivers:
            if id(m) in self._managed:
                m.set_class_names(classes)

    def before_train(self, runner) -> None:
        self._train_classes = self._classes(runner, 'train_loop')
        self._apply(runner, self._train_classes, 'train')

    def before_val(self, runner) -> None:
        self._apply(runner, self._classes(runner, 'val_loop'), 'test')

    def after_val(self, runner) -> None:
        if self._train_classes:  # training goes on with its own names
            self._apply(runner, self._train_classes, 'train')

    def before_test(self, runner) -> None:
        self._apply(runner, self._classes(runner, 'test_loop'), 'test')

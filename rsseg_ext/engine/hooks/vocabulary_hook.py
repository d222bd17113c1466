"""Hands each loop's dataset class names to an open-vocabulary model (RSKT-Seg)."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS

__all__ = ['VocabularyHook']


@HOOKS.register_module()
class VocabularyHook(Hook):
    """Before training, validation and testing, call ``model.set_dataset_vocabulary(classes, mode)`` with the
    ``metainfo['classes']`` of that loop's dataset (mode ``'train'`` for training, ``'test'`` for val/test).

    The model keeps one vocabulary per mode, so periodic validation on another dataset (with other class names)
    never changes what training uses, and vice versa. Models without ``set_dataset_vocabulary`` are left alone.
    """

    priority = 'VERY_HIGH'

    @staticmethod
    def _set(runner, loop_name: str, mode: str) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        setter = getattr(model, 'set_dataset_vocabulary', None)
        loop = getattr(runner, loop_name, None)
        dataset = getattr(getattr(loop, 'dataloader', None), 'dataset', None)
        classes: Optional[tuple] = (getattr(dataset, 'metainfo', None) or {}).get('classes')
        if setter is not None and classes:
            setter(tuple(classes), mode)

    def before_train(self, runner) -> None:
        self._set(runner, 'train_loop', 'train')

    def before_val(self, runner) -> None:
        self._set(runner, 'val_loop', 'test')

    def before_test(self, runner) -> None:
        self._set(runner, 'test_loop', 'test')

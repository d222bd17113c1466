"""VocabularyHook: the one hand-over of dataset class names to text-classifier models."""
from types import SimpleNamespace

import torch.nn as nn

from rsseg_ext.engine.hooks import VocabularyHook


class Head(nn.Module):

    def __init__(self, class_names=None):
        super().__init__()
        self.class_names = class_names
        self.calls = []

    def set_class_names(self, names):
        self.class_names = tuple(names)
        self.calls.append(self.class_names)


class OVModel(nn.Module):

    def __init__(self, head):
        super().__init__()
        self.head = head
        self.vocab = {}

    def set_dataset_vocabulary(self, names, mode):
        self.vocab[mode] = tuple(names)


def _loop(classes):
    return SimpleNamespace(dataloader=SimpleNamespace(dataset=SimpleNamespace(metainfo=dict(classes=classes))))


def _runner(model):
    return SimpleNamespace(model=model, train_loop=_loop(['a', 'b']), val_loop=_loop(['x', 'y', 'z']),
                           test_loop=_loop(['t']))


def test_per_mode_vocabulary_and_training_names_restored_after_val():
    free, fixed = Head(), Head(class_names=('cfg1', 'cfg2'))
    model = OVModel(nn.ModuleList([free, fixed]))
    runner, hook = _runner(model), VocabularyHook()
    hook.before_train(runner)
    assert model.vocab == {'train': ('a', 'b')} and free.class_names == ('a', 'b')
    hook.before_val(runner)
    assert model.vocab == {'train': ('a', 'b'), 'test': ('x', 'y', 'z')} and free.class_names == ('x', 'y', 'z')
    hook.after_val(runner)
    assert model.vocab['train'] == ('a', 'b') and free.class_names == ('a', 'b')  # training goes on with its names
    hook.before_test(runner)
    assert model.vocab['test'] == ('t', ) and free.class_names == ('t', )
    assert fixed.class_names == ('cfg1', 'cfg2') and not fixed.calls  # configured vocabularies are kept


def test_override_feeds_configured_heads_and_plain_models_are_left_alone():
    fixed = Head(class_names=('cfg', ))
    runner, hook = _runner(nn.ModuleList([fixed])), VocabularyHook(override=True)
    hook.before_train(runner)
    hook.before_val(runner)
    hook.after_val(runner)
    assert fixed.calls == [('a', 'b'), ('x', 'y', 'z'), ('a', 'b')]
    plain = nn.Linear(2, 2)  # no receiver at all: nothing happens, nothing fails
    VocabularyHook().before_train(_runner(plain))

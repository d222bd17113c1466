"""Hook that records the checkpoints a training run writes (see :mod:`rsseg_ext.engine.checkpoint`)."""
import os
import os.path as osp
import time
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from mmseg.registry import HOOKS
from ..trust import record_checkpoint


@HOOKS.register_module()
class CheckpointManifestHook(Hook):
    """Sign a record (sha256, size, run name; HMAC with the user's key) of every checkpoint this run saves, so
    that ``--resume`` and ``tools/test.py`` may unpickle exactly those files (see
    :mod:`rsseg_ext.engine.trust`).

    Runs after mmengine's ``CheckpointHook`` (lowest priority) and only on the main process. ``tools/train.py``
    adds it when a config does not; our ``default_runtime.py`` lists it in ``custom_hooks``.

    Args:
        out_dir: folder the checkpoints go to; defaults to the runner's ``work_dir``.
    """

    priority = 'LOWEST'

    def __init__(self, out_dir: Optional[str] = None) -> None:
        self.out_dir = out_dir
        self._seen: Dict[str, tuple] = {}
        self._start = time.time()

    def before_train(self, runner) -> None:
        self._start = time.time() - 1.0
        self._seen = {}

    def _scan(self, runner) -> None:
        if not is_main_process():
            return
        folder = self.out_dir or runner.work_dir
        if not osp.isdir(folder):
            return
        for name in sorted(os.listdir(folder)):
            if not name.endswith('.pth'):
                continue
            path = osp.join(folder, name)
            st = os.stat(path)
            sig = (st.st_size, st.st_mtime_ns)
            # only files written during this run, and each version once
            if st.st_mtime < self._start or self._seen.get(name) == sig:
                continue
            record_checkpoint(path, run=str(getattr(runner, 'experiment_name', '')))
            self._seen[name] = sig

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._scan(runner)

    def after_train_epoch(self, runner) -> None:
        self._scan(runner)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._scan(runner)

    def after_train(self, runner) -> None:
        self._scan(runner)

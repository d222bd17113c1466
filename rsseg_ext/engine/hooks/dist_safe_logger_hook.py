"""mmengine's LoggerHook with the test-metrics JSON written by the main process only."""
import os.path as osp
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.fileio import dump
from mmengine.hooks import LoggerHook

from mmseg.registry import HOOKS


@HOOKS.register_module()
class DistSafeLoggerHook(LoggerHook):
    """Same as ``LoggerHook``, except that after testing only the main process dumps the metrics JSON.

    mmengine 0.10.7 dumps ``<log_dir>/<timestamp>.json`` from every rank into the same file; the concurrent
    writes of a multi-process ``tools/dist_test.sh`` run leave it corrupted now and then. ``tools/train.py`` and
    ``tools/test.py`` use this hook in place of a configured ``LoggerHook`` (same arguments).
    """

    def after_test_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        tag, log_str = runner.log_processor.get_log_after_epoch(
            runner, len(runner.test_dataloader), 'test', with_non_scalar=True)
        runner.logger.info(log_str)
        if is_main_process():
            dump(self._process_tags(tag), osp.join(runner.log_dir, self.json_log_path))

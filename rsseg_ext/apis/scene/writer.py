"""The scene engine's background writer: blended logit rows -> labels (+ probabilities) -> GeoTIFF blocks,
checkpointed into the resume sidecar after every block."""
import copy
import os
import queue
import threading
from typing import List, Optional, Tuple

import numpy as np
import torch

from .raster_io import OUTPUT_NODATA, TILE, read_head, write_window_checked
from .resume import fsync, write_json_atomic

__all__ = ['SceneWriter', 'labels_from_logits']


def labels_from_logits(logits: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """``(C, n, W)`` -> ``(n, W)`` class indices; a single channel is a sigmoid map thresholded (as mmseg)."""
    if logits.shape[0] == 1:
        return (logits[0].sigmoid() > threshold).to(torch.uint8)
    return logits.argmax(0).to(torch.uint8)


_STOP = object()  # writer queue: stop after the items before this one


class SceneWriter:
    """Background writer: blended logit rows -> labels (+ probabilities) -> GeoTIFF blocks, with a checkpoint.

    Runs in its own thread with its own GDAL handles, so argmax/softmax, deflate compression and disk writes
    overlap with the model. Rows are written exactly ``TILE`` at a time (every compressed tile written once);
    after each block both temp files are closed (GDAL writes the tile index), fsync'd, and the sidecar is
    rewritten atomically with the rows done and the temp files' sizes. That makes the byte sequence of the
    files a function of the block index only, so a resumed run (temp files truncated back to the sizes of the
    last checkpoint) ends byte-identical to an uninterrupted run.

    The sidecar content ``state`` (:func:`~.resume.new_state` / :func:`~.resume.load_resume`) is the writer's
    own once handed over: it alone updates it (block CRCs, sizes, rows done); the caller reads :attr:`rows_done`
    and, after :meth:`close`, :attr:`state`.

    Errors in the thread are kept and re-raised in the caller's thread by :meth:`put` / :meth:`close`.
    """

    def __init__(self, in_path: str, bands: Tuple[int, ...], all_valid: bool, paths: Tuple[str, Optional[str]],
                 sidecar: str, state: dict, start_row: int, height: int, width: int, probs_dtype: str,
                 maxsize: int = 2):
        self.in_path, self.bands, self.all_valid = in_path, bands, all_valid
        self.tmp_out, self.tmp_probs = paths
        self.sidecar = sidecar
        self.state = copy.deepcopy(state)  # the writer's own: the caller's dict is never written to
        self.row0 = int(start_row)  # first row not yet written
        self.rows_done = int(start_row)  # rows written and checkpointed (where a resume continues)
        self.height, self.width, self.probs_dtype = height, width, probs_dtype
        self.labels: List[np.ndarray] = []
        self.probs: List[np.ndarray] = []
        self.pending = 0
        self.max_pending_rows = 0
        self.error: Optional[BaseException] = None
        self.q: 'queue.Queue' = queue.Queue(maxsize=max(1, maxsize))
        self.thread = threading.Thread(target=self._main, name='rsseg-scene-writer', daemon=True)
        self.thread.start()

    # -- caller side ------------------------------------------------------------------------------------------
    def put(self, item: Tuple[int, torch.Tensor]):
        while True:
            if self.error is not None:
                raise self.error
            try:
                self.q.put(item, timeout=0.05)
                return
            except queue.Full:
                if not self.thread.is_alive():
                    raise RuntimeError('the scene writer thread stopped unexpectedly')

    def close(self):
        """Write the last rows, wait for the thread and re-raise its error, if any."""
        self.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def abort(self):
        """Stop after writing the complete blocks of what is already queued (each one checkpointed); the rows of
        an incomplete block are dropped (a resume computes them again)."""
        while self.thread.is_alive():
            try:
                self.q.put(_STOP, timeout=0.05)
                break
            except queue.Full:
                pass
        self.thread.join()

    # -- thread side ------------------------------------------------------------------------------------------
    def _main(self):
        import rasterio
        try:
            self.src = rasterio.open(self.in_path)
            try:
                while True:
                    item = self.q.get()
                    if item is _STOP:
                        return
                    if item is None:
                        self._drain(final=True)
                        if self.row0 != self.height:
                            raise RuntimeError(f'the writer ended at row {self.row0} of {self.height}')
                        return
                    self._add(*item)
            finally:
                self.src.close()
        except BaseException as e:  # noqa: B902  handed to the caller
            self.error = e

    def _add(self, row0: int, logits: torch.Tensor):
        """``logits``: ``(C, n, W)``, or ``(n, W)`` uint8 labels already (no probability output)."""
        from rasterio.windows import Window
        is_labels = logits.ndim == 2
        n = logits.shape[-2]
        if row0 + n <= self.row0:  # rows finished before a resume
            return
        if row0 < self.row0:
            logits = logits[..., self.row0 - row0:, :]
            row0, n = self.row0, logits.shape[-2]
        expected = self.row0 + self.pending
        if row0 != expected:
            raise RuntimeError(f'rows arrive out of order: got row {row0}, expected {expected}')
        labels = (logits if is_labels else labels_from_logits(logits)).cpu().numpy()
        pr = None
        if self.tmp_probs is not None:
            p = logits.float().sigmoid() if logits.shape[0] == 1 else logits.float().softmax(0)
            pr = p.cpu().numpy()
            if self.probs_dtype == 'uint8':
                pr = np.rint(pr * 255).astype(np.uint8)
        if not self.all_valid:
            m = self.src.read_masks(self.bands, window=Window(0, row0, self.width, n))
            invalid = ~(m > 0).any(0)
            labels[invalid] = OUTPUT_NODATA
            if pr is not None and self.probs_dtype == 'float32':
                pr[:, invalid] = np.nan
        self.labels.append(labels)
        if pr is not None:
            self.probs.append(pr)
        self.pending += n
        self.max_pending_rows = max(self.max_pending_rows, self.pending)
        self._drain(final=False)

    def _drain(self, final: bool):
        while self.pending >= TILE or (final and self.pending > 0):
            self._write_block(min(TILE, self.pending))

    def _write_block(self, n: int):
        from rasterio.windows import Window
        lab = np.concatenate(self.labels, axis=0) if len(self.labels) > 1 else self.labels[0]
        self.labels = [lab[n:]] if n < lab.shape[0] else []
        win = Window(0, self.row0, self.width, n)
        # GDAL may only print a failed write (ulimit -f, full disk): each block is read back before it counts
        crcs = self.state['crc']
        crcs['labels'].append(write_window_checked(self.tmp_out, lab[None, :n], win))
        if self.tmp_probs is not None:
            pr = np.concatenate(self.probs, axis=1) if len(self.probs) > 1 else self.probs[0]
            self.probs = [pr[:, n:]] if n < pr.shape[1] else []
            crcs['probs'].append(write_window_checked(self.tmp_probs, pr[:, :n], win))
        self.row0 += n
        self.pending -= n
        self.checkpoint()

    def checkpoint(self):
        """fsync the temp files, then record their sizes, start-of-file bytes (GDAL updates the tile index there
        in place, even for a block that failed) and the rows done in the sidecar (atomically)."""
        sizes, heads = {}, {}
        for key, p in (('labels', self.tmp_out), ('probs', self.tmp_probs)):
            if p is not None:
                fsync(p)
                sizes[key] = os.path.getsize(p)
                heads[key] = read_head(p, self.state['head_bytes'][key])
        self.state['rows_done'] = int(self.row0)
        self.state['sizes'] = sizes
        self.state['heads'] = heads
        write_json_atomic(self.sidecar, self.state)
        self.rows_done = int(self.row0)

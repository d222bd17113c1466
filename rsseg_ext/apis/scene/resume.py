"""Resumable output: where the files go, the sidecar progress file and its checks.

A run writes its GeoTIFFs under hidden temp names next to the output (:func:`partial_paths`) and keeps its
progress in an atomically rewritten JSON sidecar: every output-affecting setting, the rows done, the temp files'
sizes, start-of-file bytes and the CRC-32 of every block (:func:`new_state`; the writer updates it after each
block). :func:`load_resume` checks a sidecar against a new call and cuts the temp files back to their last
checkpoint; :func:`finish_outputs` reads the finished files back against the CRCs and renames them.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

from ...utils.fileio import TMP_MARK, OutputWriteError, atomic_write_text, commit
from .raster_io import TILE, RasterWriteError, restore_head, verify_blocks

__all__ = ['RESUME_VERSION', 'probs_path_for', 'partial_paths', 'fsync', 'write_json_atomic', 'remove_stale_temps',
           'file_facts', 'new_state', 'load_resume', 'finish_outputs']

def probs_path_for(out_path: str) -> str:
    """``OUT.tif`` -> ``OUT_probs.tif`` (the per-class probability file)."""
    root, ext = osp.splitext(out_path)
    return f'{root}_probs{ext or ".tif"}'


#: version of the sidecar progress file layout (2: start-of-file bytes and block CRCs of each temp file)
RESUME_VERSION = 2


def partial_paths(out_path: str) -> Tuple[str, str, str]:
    """``(temp labels, temp probabilities, sidecar)`` of an output: hidden files next to ``out_path``.

    ``OUT.tif`` -> ``.OUT.tif.partial.tif``, ``.OUT_probs.tif.partial.tif`` and ``.OUT.tif.resume.json``.
    """
    d, name = osp.split(osp.abspath(out_path))
    pname = osp.basename(probs_path_for(out_path))
    return (osp.join(d, f'.{name}.partial.tif'), osp.join(d, f'.{pname}.partial.tif'),
            osp.join(d, f'.{name}.resume.json'))


def fsync(path: str):
    """fsync a file by name (it was written through GDAL, which does not)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: str, obj: dict):
    """Write ``obj`` to ``path`` so that a crash leaves either the old or the new file, never half of one (and a
    failed write no temp file)."""
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True))


def remove_stale_temps(path: str) -> None:
    """Remove the temp files a killed writer of ``path`` left (:func:`~rsseg_ext.utils.fileio.temp_path`
    names); the previous version of ``path`` itself is untouched."""
    folder, name = osp.split(path)
    stem, ext = osp.splitext(name)
    for n in os.listdir(folder):
        if n.startswith(f'.{stem}{TMP_MARK}') and n.endswith(ext):
            try:
                os.remove(osp.join(folder, n))
            except OSError:
                pass


def file_facts(path: Optional[str]) -> Optional[dict]:
    """Path, size and mtime of a file: how a resume recognises the same input."""
    if path is None:
        return None
    st = os.stat(path)
    return dict(path=osp.abspath(path), size=int(st.st_size), mtime_ns=int(st.st_mtime_ns))

def new_state(settings: dict, out_path: str, temps: Dict[str, Optional[str]]) -> dict:
    """The sidecar content of a run that starts from the first row (``temps``: ``labels``/``probs`` -> temp
    path or None; the files exist, empty)."""
    return dict(version=RESUME_VERSION, settings=settings, rows_done=0, sizes={}, out=out_path, temp=temps,
                crc={k: [] for k, p in temps.items() if p is not None},
                head_bytes={k: os.path.getsize(p) for k, p in temps.items() if p is not None})


def load_resume(sidecar: str, settings: dict, out_path: str, tmp_out: str, tmp_probs: Optional[str]) -> dict:
    """Read and check the sidecar, truncate the temp files back to their last checkpoint; return the state."""
    import rasterio
    again = f'rerun without --resume (resume=False) to start {osp.basename(out_path)!r} over'
    try:
        with open(sidecar) as f:
            state = json.load(f)
        saved, rows = state['settings'], int(state['rows_done'])
        sizes, heads, crcs = state['sizes'], state.get('heads', {}), state.get('crc', {})
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f'cannot resume: the progress file {sidecar!r} is unreadable ({e}); {again}') from None
    if state.get('version') != RESUME_VERSION:
        raise ValueError(f'cannot resume: {sidecar!r} has layout version {state.get("version")}, this version '
                         f'writes {RESUME_VERSION}; {again}')

    def flat(d, pre=''):
        out = {}
        for k, v in (d or {}).items():
            if isinstance(v, dict):
                out.update(flat(v, f'{pre}{k}.'))
            else:
                out[f'{pre}{k}'] = v
        return out

    a, b = flat(saved), flat(settings)
    diff = [f'{k}: {a.get(k)!r} then, {b.get(k)!r} now' for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    if diff:
        raise ValueError(f'cannot resume {out_path!r}: the unfinished run used other settings or another input '
                         f'({"; ".join(diff)}); use the same settings, or {again}')
    for key, p in (('labels', tmp_out), ('probs', tmp_probs)):
        if p is None:
            continue
        if key not in sizes or not osp.exists(p) or os.path.getsize(p) < int(sizes[key]):
            raise ValueError(f'cannot resume: the partial file {p!r} is missing or shorter than its last '
                             f'checkpoint; {again}')
        if key not in heads or len(crcs.get(key, ())) != -(-rows // TILE):
            raise ValueError(f'cannot resume: the progress file {sidecar!r} lacks the record of {p!r}; {again}')
        # everything after the last checkpoint is an unfinished block: cut it off, and put back the tile
        # index that a failed block may have changed in place
        os.truncate(p, int(sizes[key]))
        restore_head(p, heads[key])
        try:
            with rasterio.open(p) as ds:
                ok = (ds.height, ds.width) == (settings['height'], settings['width'])
        except rasterio.errors.RasterioIOError:
            ok = False
        if not ok:
            raise ValueError(f'cannot resume: the partial file {p!r} is damaged; {again}')
    return state


def finish_outputs(state: dict, files: List[Tuple[Optional[str], Optional[str], str]], sidecar: str) -> None:
    """Check that every finished temp file reads back block by block as written (CRC-32 per block), then
    rename them to their final names and remove the sidecar. A failure here cannot be resumed: the sidecar
    goes first, so that the caller removes the temp files too."""
    files = [(tmp, final, key) for tmp, final, key in files if tmp is not None]
    try:
        for tmp, _, key in files:
            verify_blocks(tmp, state['crc'][key], TILE)
        for tmp, final, _ in files:
            commit(tmp, final)
    except (RasterWriteError, OutputWriteError):
        os.remove(sidecar)
        raise
    os.remove(sidecar)

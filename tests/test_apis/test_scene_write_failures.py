"""Scene inference when the OS refuses a write: file-size limit (RLIMIT_FSIZE), read-only folder, umask.

The reference is the OS itself: ``resource.RLIMIT_FSIZE`` makes every write past N bytes fail with EFBIG (Python
ignores SIGXFSZ), wherever GDAL/libtiff happens to be in its file. What must hold (issue 16): a non-zero exit
with one line naming the output and the fix, no file under the output's name, no temp file besides the
documented partial + progress files, and ``--resume`` without the limit ending byte-identical to a run that was
never cut short.
"""
import ctypes
import json
import os
import resource
import shlex
import shutil
import stat
import subprocess
import sys

import pytest

rasterio = pytest.importorskip('rasterio')
pytest.importorskip('mmseg.models')

from conftest import REPO_ROOT, file_size_limit, one_torch_thread, process_umask, tool_env  # noqa: E402
from test_scene_inferencer import OVERLAP, WINDOW, build_tiny_model  # noqa: E402
import test_scene_resume  # noqa: E402
from test_scene_resume import Interrupt, interrupt_after, read_bytes, write_cli_model  # noqa: E402

from rsseg_ext.apis.scene import SceneInferencer, partial_paths, probs_path_for  # noqa: E402
from rsseg_ext.utils.fileio import TMP_MARK, OutputWriteError  # noqa: E402

TOOL = os.path.join(REPO_ROOT, 'tools', 'infer_scene.py')
# the tiny model and the 700x600 scene (three 256-row blocks) of the resume tests
model, big_scene = test_scene_resume.model, test_scene_resume.big_scene


@pytest.fixture(autouse=True)
def single_thread():
    """One torch thread, as the CLI subprocesses run (tool_env: OMP_NUM_THREADS=1): the probabilities' last
    bits depend on the thread count, and resumed files are compared bytewise with the reference."""
    with one_torch_thread():
        yield


@pytest.fixture(scope='module')
def reference(model, big_scene, tmp_path_factory):
    """An uninterrupted run (labels + probabilities) with one torch thread."""
    out = str(tmp_path_factory.mktemp('ref') / 'ref.tif')
    with one_torch_thread():
        SceneInferencer(model, window=WINDOW, overlap=OVERLAP, batch=2, progress=False).infer_file(
            big_scene, out, probs=True)
    return out


@pytest.fixture(scope='module')
def plain_model():
    """The tiny model without a palette: its empty label GeoTIFF (no colour table) is smaller than a progress
    file, so a file-size limit can fall between the two."""
    m = build_tiny_model()
    m.dataset_meta = dict(classes=m.dataset_meta['classes'])
    return m


@pytest.fixture(scope='module')
def cli_model(model, tmp_path_factory):
    return write_cli_model(model, tmp_path_factory.mktemp('cli_model'))


def cli(cli_model, scene, out, *extra, limit=None, umask=None, read_only_dir=None):
    """Run tools/infer_scene.py in a subprocess, optionally under a file-size limit / another umask / without
    root's right to write into read-only folders."""
    def pre():
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        if umask is not None:
            os.umask(umask)
        if read_only_dir is not None and os.geteuid() == 0:
            libc = ctypes.CDLL(None, use_errno=True)
            for cap in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: gone after exec
                if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                    raise OSError(ctypes.get_errno(), 'prctl(PR_CAPBSET_DROP)')

    cfg, ckpt = cli_model
    cmd = [sys.executable, TOOL, cfg, ckpt, scene, out, '--window', str(WINDOW), '--overlap', str(OVERLAP),
           '--batch', '2', '--device', 'cpu', '--no-progress', *extra]
    return subprocess.run(cmd, cwd=REPO_ROOT, env=tool_env(), capture_output=True, text=True, preexec_fn=pre,
                          timeout=600)


def last_line(res) -> str:
    lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
    assert 'Traceback' not in res.stderr, res.stderr[-3000:]
    return lines[-1] if lines else ''


def leftovers(folder) -> list:
    return sorted(os.listdir(folder))


def no_temp_files(folder):
    names = leftovers(folder)
    assert not [n for n in names if TMP_MARK in n or n.endswith('.tmp')], names


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_cli_cut_mid_geotiff_then_resume(cli_model, big_scene, reference, tmp_path):
    """The limit cuts the probability GeoTIFF in its second block (an error GDAL used to only print)."""
    out = str(tmp_path / 'pred.tif')
    tmp_out, tmp_probs, sidecar = partial_paths(out)
    limit = int(0.6 * os.path.getsize(probs_path_for(reference)))  # block 2 of 3 of the largest file
    assert os.path.getsize(reference) < limit  # the label file alone fits: the probabilities are cut
    res = cli(cli_model, big_scene, out, '--probs', limit=limit)
    msg = last_line(res)
    assert res.returncode == 1, res.stderr[-3000:]
    assert msg.startswith(f'infer_scene.py: could not write {out}: file too large (file-size limit'), msg
    assert 'rerun the same command with --resume' in msg and 'continue from row 256' in msg, msg
    assert not os.path.exists(out) and not os.path.exists(probs_path_for(out))
    # only the documented, resumable leftovers: partial files and the progress file
    assert leftovers(tmp_path) == sorted(os.path.basename(p) for p in (tmp_out, tmp_probs, sidecar))
    with open(sidecar) as f:
        assert json.load(f)['rows_done'] == 256
    res = cli(cli_model, big_scene, out, '--probs', '--resume', umask=0o027)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'resumed at row 256' in res.stdout
    assert read_bytes(out) == read_bytes(reference)
    assert read_bytes(probs_path_for(out)) == read_bytes(probs_path_for(reference))
    assert leftovers(tmp_path) == ['pred.tif', 'pred_probs.tif']
    assert mode_of(out) == mode_of(probs_path_for(out)) == 0o640


def test_cli_cut_progress_file_then_resume(plain_model, big_scene, tmp_path):
    """A limit the empty temp GeoTIFF fits under but the first progress file does not: nothing is kept, and
    --resume (nothing to resume: a warning) writes the same bytes as an uninterrupted run."""
    limit = 1000
    # the sizes at the first checkpoint (row 0), from an in-process run stopped before its first block
    (tmp_path / 'probe').mkdir()
    probe = str(tmp_path / 'probe' / 'pred.tif')
    handle = interrupt_after(plain_model, 4)
    try:
        with pytest.raises(Interrupt):
            SceneInferencer(plain_model, window=WINDOW, overlap=OVERLAP, batch=2, progress=False).infer_file(
                big_scene, probe)
    finally:
        handle.remove()
    tmp_out, _, sidecar = partial_paths(probe)
    assert os.path.getsize(tmp_out) < limit < os.path.getsize(sidecar)  # so the sidecar is what gets cut
    ref = str(tmp_path / 'probe' / 'ref.tif')
    SceneInferencer(plain_model, window=WINDOW, overlap=OVERLAP, batch=2, progress=False).infer_file(big_scene, ref)

    cli_files = write_cli_model(plain_model, tmp_path / 'probe')
    (tmp_path / 'out').mkdir()
    out = str(tmp_path / 'out' / 'pred.tif')
    res = cli(cli_files, big_scene, out, limit=limit)
    msg = last_line(res)
    assert res.returncode == 1, res.stderr[-3000:]
    assert msg == (f'infer_scene.py: could not write {out}: file too large (file-size limit, see ulimit -f): raise '
                   'the limit or write elsewhere, then rerun (nothing was kept)'), msg
    assert leftovers(tmp_path / 'out') == []  # no partial, no progress file, no temp of the progress file
    png = str(tmp_path / 'out' / 'overlay.png')
    res = cli(cli_files, big_scene, out, '--resume', '--overlay', png, umask=0o022)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'no unfinished run' in res.stderr  # the resume warning: it starts from the first row
    assert read_bytes(out) == read_bytes(ref)
    assert leftovers(tmp_path / 'out') == ['overlay.png', 'pred.tif']
    assert mode_of(out) == mode_of(png) == 0o644


def test_api_progress_file_refused_later(model, big_scene, reference, tmp_path, monkeypatch):
    """The OS refuses the progress file of the second checkpoint (row 256): the run stops with one line, the
    progress file of row 0 stays valid, and a resume from there is byte-identical."""
    from rsseg_ext.apis.scene import writer
    orig = writer.write_json_atomic

    def refused_at_256(path, obj):
        if obj['rows_done'] != 256:
            return orig(path, obj)
        with file_size_limit(100):  # smaller than any progress file: its temp file is cut by the OS
            return orig(path, obj)

    monkeypatch.setattr(writer, 'write_json_atomic', refused_at_256)
    out = str(tmp_path / 'pred.tif')
    with pytest.raises(OutputWriteError, match=r'pred\.tif: file too large.*--resume.*from row 0 '):
        SceneInferencer(model, window=WINDOW, overlap=OVERLAP, batch=2, progress=False).infer_file(
            big_scene, out, probs=True)
    no_temp_files(tmp_path)
    assert not os.path.exists(out)
    monkeypatch.setattr(writer, 'write_json_atomic', orig)
    res = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, batch=2, progress=False).infer_file(
        big_scene, out, probs=True, resume=True)
    assert res['resumed_from'] == 0
    assert read_bytes(out) == read_bytes(reference)
    assert read_bytes(probs_path_for(out)) == read_bytes(probs_path_for(reference))
    assert leftovers(tmp_path) == ['pred.tif', 'pred_probs.tif']


def test_cli_overlay_cut_and_read_only_folder(cli_model, big_scene, reference, tmp_path):
    # the overlay PNG does not fit under the limit, the label GeoTIFF does: the PNG's name stays free
    out, png = str(tmp_path / 'pred.tif'), str(tmp_path / 'overlay.png')
    limit = os.path.getsize(reference) + 4096
    res = cli(cli_model, big_scene, out, '--overlay', png, limit=limit)
    msg = last_line(res)
    assert res.returncode == 1, res.stderr[-3000:]
    assert msg.startswith(f'infer_scene.py: could not write {png}: file too large'), msg
    assert f'the labels in {out} are complete' in msg
    assert leftovers(tmp_path) == ['pred.tif'] and read_bytes(out) == read_bytes(reference)
    # a read-only output folder: one line, nothing written
    ro = tmp_path / 'ro'
    ro.mkdir()
    os.chmod(ro, 0o555)
    try:
        res = cli(cli_model, big_scene, str(ro / 'pred.tif'), read_only_dir=ro)
    finally:
        os.chmod(ro, 0o755)
    msg = last_line(res)
    assert res.returncode == 1, res.stderr[-3000:]
    assert msg == (f'infer_scene.py: could not write {ro / "pred.tif"}: permission denied: choose a folder you can '
                   'write to, then rerun (nothing was kept)'), msg
    assert leftovers(ro) == []


def test_cli_disk_full_then_resume(cli_model, big_scene, reference, tmp_path):
    """A real full disk: a 64 KiB tmpfs mounted in a private mount namespace (needs root's CAP_SYS_ADMIN; skipped
    where that is not allowed). The run stops with 'disk full', keeps the finished rows; after the file system is
    made larger, --resume ends byte-identical."""
    if os.geteuid() != 0 or shutil.which('unshare') is None:
        pytest.skip('mounting a small tmpfs needs root and unshare(1)')
    disk, res_dir = tmp_path / 'disk', tmp_path / 'res'
    disk.mkdir()
    res_dir.mkdir()
    out = str(disk / 'pred.tif')
    cfg, ckpt = cli_model
    run = ' '.join(shlex.quote(a) for a in [
        sys.executable, TOOL, cfg, ckpt, big_scene, out, '--window', str(WINDOW), '--overlap', str(OVERLAP),
        '--batch', '2', '--device', 'cpu', '--no-progress', '--probs'])
    q = {k: shlex.quote(str(v)) for k, v in dict(disk=disk, res=res_dir).items()}
    script = (f'mount -t tmpfs -o size=64k tmpfs {q["disk"]} || exit 77\n'
              f'{run} 2> {q["res"]}/err1; echo $? > {q["res"]}/rc1; ls -A {q["disk"]} > {q["res"]}/ls1\n'
              f'mount -o remount,size=16m {q["disk"]} || exit 78\n'
              f'{run} --resume > {q["res"]}/out2 2>&1; echo $? > {q["res"]}/rc2\n'
              f'ls -A {q["disk"]} > {q["res"]}/ls2; cp {q["disk"]}/pred*.tif {q["res"]}/\n')
    proc = subprocess.run(['unshare', '-m', 'sh', '-c', script], env=tool_env(), capture_output=True, text=True,
                          timeout=600)
    if proc.returncode == 77 or 'unshare failed' in proc.stderr or 'Operation not permitted' in proc.stderr:
        pytest.skip(f'no private tmpfs here: {proc.stderr.strip()[-200:]}')
    assert proc.returncode == 0, proc.stderr[-2000:]
    err1 = (res_dir / 'err1').read_text()
    msg = [ln for ln in err1.strip().splitlines() if ln.strip()][-1]
    assert (res_dir / 'rc1').read_text().strip() == '1' and 'Traceback' not in err1, err1[-3000:]
    assert msg.startswith(f'infer_scene.py: could not write {out}: disk full: free space, then rerun the same '
                          'command with --resume'), msg
    assert sorted((res_dir / 'ls1').read_text().split()) == sorted(os.path.basename(p) for p in partial_paths(out))
    assert (res_dir / 'rc2').read_text().strip() == '0', (res_dir / 'out2').read_text()[-3000:]
    assert 'resumed at row' in (res_dir / 'out2').read_text()
    assert sorted((res_dir / 'ls2').read_text().split()) == ['pred.tif', 'pred_probs.tif']
    assert read_bytes(res_dir / 'pred.tif') == read_bytes(reference)
    assert read_bytes(res_dir / 'pred_probs.tif') == read_bytes(probs_path_for(reference))


# tools/infer_scene.py, killed with SIGKILL at a chosen point of its writes (argv: point, tool, tool's args)
KILLED_RUN = r'''
import os, runpy, signal, sys
from rsseg_ext.apis.scene.writer import SceneWriter
from rsseg_ext.utils import fileio
point, tool = sys.argv[1], sys.argv[2]
def die():
    os.kill(os.getpid(), signal.SIGKILL)
if point == 'before-checkpoint':  # block 2 written (tile index updated in place), its checkpoint not yet
    orig_checkpoint = SceneWriter.checkpoint
    def checkpoint(self):
        if self.row0 == 512:
            die()
        orig_checkpoint(self)
    SceneWriter.checkpoint = checkpoint
else:  # the progress file of row 512 is complete in its temp file, not yet renamed
    orig_commit = fileio.commit
    def commit(tmp, path, check=None, fsync=True):
        if path.endswith('.resume.json') and '"rows_done": 512' in open(tmp).read():
            die()
        return orig_commit(tmp, path, check, fsync)
    fileio.commit = commit
sys.argv = [tool] + sys.argv[3:]
runpy.run_path(tool, run_name='__main__')
'''


@pytest.mark.parametrize('point', ['before-checkpoint', 'in-progress-file'])
def test_cli_killed_then_resume(cli_model, model, big_scene, reference, tmp_path, point):
    """kill -9 between a block's write and its checkpoint, or while the progress file is renamed into place:
    the resume continues from the last checkpoint (row 256), removes the dead run's temp file and ends
    byte-identical."""
    out = str(tmp_path / 'pred.tif')
    cfg, ckpt = cli_model
    res = subprocess.run(
        [sys.executable, '-c', KILLED_RUN, point, TOOL, cfg, ckpt, big_scene, out, '--window', str(WINDOW),
         '--overlap', str(OVERLAP), '--batch', '2', '--device', 'cpu', '--no-progress', '--probs'],
        cwd=REPO_ROOT, env=tool_env(), capture_output=True, text=True, timeout=600)
    assert res.returncode == -9, res.stderr[-3000:]
    names = leftovers(tmp_path)
    assert 'pred.tif' not in names and 'pred_probs.tif' not in names
    assert bool([n for n in names if TMP_MARK in n]) == (point == 'in-progress-file'), names
    with open(partial_paths(out)[2]) as f:
        assert json.load(f)['rows_done'] == 256
    res = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, batch=2, progress=False, checkpoint=ckpt
                          ).infer_file(big_scene, out, probs=True, resume=True)  # in-process: the same settings
    assert res['resumed_from'] == 256
    assert read_bytes(out) == read_bytes(reference)
    assert read_bytes(probs_path_for(out)) == read_bytes(probs_path_for(reference))
    assert leftovers(tmp_path) == ['pred.tif', 'pred_probs.tif']


@pytest.mark.parametrize('fraction', [0.15, 0.35, 0.75, 0.99])
def test_api_cut_anywhere_then_resume(model, big_scene, reference, tmp_path, fraction):
    """In-process sweep over cut points (inside block 1, 2, 3, the last bytes): the write raises, nothing is
    under the final names, and a resume (or a fresh run) is byte-identical to the uninterrupted one."""
    out = str(tmp_path / 'pred.tif')
    sidecar = partial_paths(out)[2]
    limit = int(fraction * os.path.getsize(probs_path_for(reference)))
    inf = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, batch=2, progress=False)
    with file_size_limit(limit), pytest.raises(OutputWriteError, match=r'pred\.tif: file too large'):
        inf.infer_file(big_scene, out, probs=True)
    assert not os.path.exists(out) and not os.path.exists(probs_path_for(out))
    no_temp_files(tmp_path)
    resumable = os.path.exists(sidecar)
    res = SceneInferencer(model, window=WINDOW, overlap=OVERLAP, batch=2, progress=False).infer_file(
        big_scene, out, probs=True, resume=resumable)
    assert res['resumed_from'] == (inf.rows_done if resumable else 0)
    assert read_bytes(out) == read_bytes(reference)
    assert read_bytes(probs_path_for(out)) == read_bytes(probs_path_for(reference))
    assert leftovers(tmp_path) == ['pred.tif', 'pred_probs.tif']


def test_api_damaged_finished_file_is_not_renamed(model, big_scene, tmp_path, monkeypatch):
    """A finished temp file that does not read back as written never gets the final name."""
    from rsseg_ext.apis.scene import resume
    orig = resume.verify_blocks

    def corrupt_then_verify(path, crcs, rows):
        with open(path, 'r+b') as f:  # flip bytes in the last tile (compressed data at the end of the file)
            f.seek(-64, os.SEEK_END)
            data = f.read(32)
            f.seek(-64, os.SEEK_END)
            f.write(bytes(b ^ 0xFF for b in data))
        return orig(path, crcs, rows)

    monkeypatch.setattr(resume, 'verify_blocks', corrupt_then_verify)
    out = str(tmp_path / 'pred.tif')
    with pytest.raises(OutputWriteError, match=r'pred\.tif: the finished file .*damaged.*then rerun \(nothing was '):
        SceneInferencer(model, window=WINDOW, overlap=OVERLAP, batch=2, progress=False).infer_file(big_scene, out)
    assert leftovers(tmp_path) == []


def test_api_outputs_follow_umask(model, big_scene, tmp_path):
    from rsseg_ext.apis import write_overlay_png
    with process_umask(0o027):
        out = str(tmp_path / 'pred.tif')
        SceneInferencer(model, window=WINDOW, overlap=OVERLAP, batch=2, progress=False).infer_file(
            big_scene, out, probs=True)
        write_overlay_png(out, big_scene, str(tmp_path / 'o.png'), max_size=64)
    assert {n: mode_of(tmp_path / n) for n in leftovers(tmp_path)} == {
        'o.png': 0o640, 'pred.tif': 0o640, 'pred_probs.tif': 0o640}

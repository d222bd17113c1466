"""rsseg_ext.utils.fileio against the OS saying no: file-size limit, read-only folder, umask, a failed check."""
import os
import os.path as osp
import resource
import stat
import subprocess
import sys
import textwrap

import pytest

from rsseg_ext.utils.fileio import (TMP_MARK, OutputWriteError, atomic_write, atomic_write_bytes, commit,
                                    output_mode, temp_path)


def _leftovers(folder):
    return [f for f in os.listdir(folder) if TMP_MARK in f]


def test_umask_sets_mode(tmp_path):
    old = os.umask(0o027)
    try:
        assert output_mode() == 0o640
        atomic_write_bytes(str(tmp_path / 'a.bin'), b'x')
        assert stat.S_IMODE(os.stat(tmp_path / 'a.bin').st_mode) == 0o640
        os.umask(0o022)
        atomic_write_bytes(str(tmp_path / 'b.bin'), b'x')
        assert stat.S_IMODE(os.stat(tmp_path / 'b.bin').st_mode) == 0o644
    finally:
        os.umask(old)


def test_file_size_limit_keeps_old_file_and_leaves_no_temp(tmp_path):
    """A write cut short by RLIMIT_FSIZE (EFBIG, as Python ignores SIGXFSZ) raises one line and keeps the old
    complete file; run in a child so the limit does not touch the test process."""
    target = tmp_path / 'out.bin'
    target.write_bytes(b'old')
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))!r})
        from rsseg_ext.utils.fileio import atomic_write_bytes, OutputWriteError
        try:
            atomic_write_bytes({str(target)!r}, b'y' * 100000)
        except OutputWriteError as e:
            print(e)
            sys.exit(3)
    """)
    limit = 4096

    def cap():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, preexec_fn=cap)
    assert proc.returncode == 3, proc.stderr
    line = proc.stdout.strip()
    assert '\n' not in line and str(target) in line and 'file too large' in line
    assert target.read_bytes() == b'old'
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason='root ignores folder permissions')
def test_read_only_folder(tmp_path):
    ro = tmp_path / 'ro'
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(OutputWriteError, match='permission denied'):
            atomic_write_bytes(str(ro / 'x.bin'), b'x')
    finally:
        ro.chmod(0o755)


def test_unwritable_parent(tmp_path):
    """A path under a regular file (works as root too): one line naming the file, nothing created."""
    blocker = tmp_path / 'file'
    blocker.write_bytes(b'')
    with pytest.raises(OutputWriteError, match='could not write'):
        atomic_write_bytes(str(blocker / 'x.bin'), b'x')
    assert os.listdir(tmp_path) == ['file']


def test_failed_check_and_exception_leave_nothing(tmp_path):
    target = str(tmp_path / 'r.tif')

    def reject(tmp):
        assert tmp.endswith('.tif') and TMP_MARK in osp.basename(tmp)
        raise ValueError('unreadable')

    with pytest.raises(ValueError):
        with atomic_write(target, check=reject) as f:
            f.write(b'abc')
    with pytest.raises(KeyError):
        with atomic_write(target) as f:
            f.write(b'abc')
            raise KeyError('boom')
    assert os.listdir(tmp_path) == []
    tmp = temp_path(target)
    with open(tmp, 'wb') as f:
        f.write(b'ok')
    commit(tmp, target)
    assert os.listdir(tmp_path) == ['r.tif'] and open(target, 'rb').read() == b'ok'

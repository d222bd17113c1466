"""The converters' shared machinery (data_converters/_common.py), tested with
the OS saying no: the umask decides output modes, and ``kill -9`` of the converter stops its pool workers."""
import os
import os.path as osp
import signal
import stat
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from conftest import REPO_ROOT

sys.path.insert(0, osp.join(REPO_ROOT, 'data_converters'))
import _common  # noqa: E402


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize('umask,want', [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_outputs_follow_the_umask(tmp_path, umask, want):
    """mkstemp's 0600 must not survive the rename: a shared data folder is read by the group."""
    old = os.umask(umask)
    try:
        _common.atomic_write_png(str(tmp_path / 'img' / 'a.png'), np.zeros((4, 4, 3), np.uint8))
        _common.write_split_list(str(tmp_path / 'splits' / 'train.txt'), ['a'])
        _common.atomic_write_bytes(str(tmp_path / 'raw.bin'), b'x')
    finally:
        os.umask(old)
    for p in ('img/a.png', 'splits/train.txt', 'raw.bin'):
        assert _mode(tmp_path / p) == want, p


def test_converter_outputs_are_0644_under_umask_022(tmp_path):
    """A whole conversion (Potsdam, fake archives) under umask 022: every tile and list is 0644."""
    from conftest import load_fake_data
    import _isprs
    from potsdam import Potsdam
    raw = tmp_path / 'raw'
    raw.mkdir()
    load_fake_data('isprs').make_potsdam(str(raw), ['2_10'], products=['2_Ortho_RGB.zip', '5_Labels_all.zip'])
    out = tmp_path / 'out'
    old = os.umask(0o022)
    try:
        _isprs.convert(Potsdam(), str(raw), str(out), nproc=2, tile=32, train_stride=16)
    finally:
        os.umask(old)
    files = [osp.join(d, f) for d, _, fs in os.walk(out) for f in fs]
    assert len(files) > 3 and {_mode(f) for f in files} == {0o644}


def test_write_refused_by_the_os_is_one_conversion_error(tmp_path):
    """RLIMIT_FSIZE (ulimit -f): one line naming the file and the fix, no file under the final name, no temp."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))
    try:
        with pytest.raises(_common.ConversionError, match=r'could not write .*big\.bin: file too large'):
            _common.atomic_write_bytes(str(tmp_path / 'big.bin'), b'x' * 5000)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert os.listdir(tmp_path) == []


def _write(split, path, data):
    _common.atomic_write_bytes(path, data)
    return split, 1


def test_resume_redoes_empty_outputs(tmp_path, capsys):
    """An empty file is what a power cut can leave under a final name: it is converted again, a marker is not."""
    good, empty, marker = (str(tmp_path / n) for n in ('good.png', 'empty.png', 'x.done'))
    for p, data in ((good, b'tile'), (empty, b''), (marker, b'')):
        open(p, 'wb').write(data)
    tasks = [(_write, ('train', good, b'new'), [good]), (_write, ('train', empty, b'redone'), [empty]),
             (_write, ('train', marker, b''), [marker])]
    assert _common.run_tasks(tasks) == dict(train=3)
    assert open(good, 'rb').read() == b'tile' and open(empty, 'rb').read() == b'redone'
    assert '2 of 3 items already converted' in capsys.readouterr().out


_SCRIPT = textwrap.dedent('''
    import os, sys, time
    sys.path.insert(0, {conv!r})
    from _common import atomic_write_bytes, run_tasks

    def slow(split, out, i):  # one long task writing tile after tile, like one large scene
        for k in range(2400):
            atomic_write_bytes(os.path.join(out, f'{{os.getpid()}}_{{i}}_{{k}}.txt'), b'tile')
            time.sleep(0.05)
        return split, 1

    out = sys.argv[1]
    run_tasks([(slow, ('train', out, i), []) for i in range(8)], nproc=2, desc='kill-test')
''')


def _alive(pid):
    try:
        with open(f'/proc/{pid}/status') as f:
            return not any(line.startswith('State:') and 'Z' in line.split()[1] for line in f)  # zombie = gone
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='reads /proc')
def test_kill_9_of_the_converter_stops_its_workers(tmp_path):
    out = tmp_path / 'out'
    out.mkdir()
    script = tmp_path / 'convert.py'
    script.write_text(_SCRIPT.format(conv=osp.join(REPO_ROOT, 'data_converters')))
    proc = subprocess.Popen([sys.executable, str(script), str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        pids = set()
        for _ in range(600):  # wait until both workers have written something
            pids = {f.split('_')[0] for f in os.listdir(out) if not f.startswith('.')}
            if len(pids) >= 2:
                break
            time.sleep(0.05)
        assert len(pids) == 2, 'the workers never wrote'
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    pids = {int(p) for p in pids}
    # the workers must end on their own (parent-death signal / watchdog), long before their 2-minute task ends;
    # without that they wrote on until the task was done (the pool only notices a dead parent between tasks)
    for _ in range(200):
        if not any(_alive(p) for p in pids):
            break
        time.sleep(0.05)
    still = [p for p in pids if _alive(p)]
    for p in still:
        os.kill(p, signal.SIGKILL)  # clean up before failing
    assert not still, f'workers {still} outlived the killed converter'
    before = sorted(os.listdir(out))
    time.sleep(0.5)
    assert sorted(os.listdir(out)) == before  # nothing is written any more
    assert all(open(out / f, 'rb').read() == b'tile' for f in before if not f.startswith('.'))  # no partial file


def test_converters_run_from_the_installed_layout(tmp_path):
    """A wheel ships data_converters/ as rsseg_ext/.mim/data_converters/: the helpers are found there too."""
    import shutil
    pkg = tmp_path / 'site' / 'rsseg_ext'
    shutil.copytree(osp.join(REPO_ROOT, 'data_converters'), pkg / '.mim' / 'data_converters',
                    ignore=shutil.ignore_patterns('__pycache__'))
    (pkg / 'utils').mkdir(parents=True)
    for name in ('grid.py', 'fileio.py'):
        shutil.copy(osp.join(REPO_ROOT, 'rsseg_ext', 'utils', name), pkg / 'utils' / name)
    res = subprocess.run([sys.executable, str(pkg / '.mim' / 'data_converters' / 'loveda.py'),
                          str(tmp_path / 'missing'), '-o', str(tmp_path / 'out')], capture_output=True, text=True,
                         cwd=str(tmp_path))
    assert res.returncode == 1 and 'loveda:' in res.stderr and 'not found' in res.stderr, res.stderr[-2000:]

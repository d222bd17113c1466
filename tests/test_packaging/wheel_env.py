"""Build the rsseg_ext wheel from a copy of this checkout and install it into a fresh venv.

The venv sees this interpreter's site-packages (torch, mmcv, mmseg, openmim) through a ``.pth`` line *after* its
own, so ``rsseg_ext`` is imported from the installed wheel and never from the checkout or its editable install
(``.pth`` files of an added path are not processed, so the checkout's editable finder stays inactive).
"""
import os
import os.path as osp
import shutil
import subprocess
import sys
import sysconfig
from typing import Optional

#: not part of a source distribution (and large): never copied into the build tree
_SKIP = ('.git', '.venv', 'build', 'dist', 'work_dirs', 'data', 'demo_outputs', 'tests', '.mim', '__pycache__',
         '.pytest_cache', 'rsseg_ext.egg-info')


def copy_source(repo_root: str, dst: str) -> str:
    """The checkout's files as ``pip wheel .`` sees them (git-tracked and untracked-not-ignored), tests excluded,
    so the build writes ``rsseg_ext/.mim`` and ``build/`` into the copy, not into the shared checkout."""
    try:
        out = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                             cwd=repo_root, capture_output=True, check=True).stdout.decode()
        files = [f for f in out.split('\0') if f and not f.startswith('tests/')]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (e.g. an unpacked sdist)
        shutil.copytree(repo_root, dst, ignore=shutil.ignore_patterns(*_SKIP, '*.pth', '*.py[cod]'))
        return dst
    for rel in files:
        src = osp.join(repo_root, rel)
        if osp.isfile(src):  # a file deleted in the work tree but still tracked is skipped
            os.makedirs(osp.dirname(osp.join(dst, rel)), exist_ok=True)
            shutil.copy2(src, osp.join(dst, rel))
    return dst


def build_wheel(src: str, out_dir: str) -> str:
    """``pip wheel .`` without network (no build isolation: setuptools/wheel come from this environment)."""
    res = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '--no-index',
                          '-w', out_dir, '.'], cwd=src, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    wheels = [f for f in os.listdir(out_dir) if f.endswith('.whl')]
    assert len(wheels) == 1, wheels
    return osp.join(out_dir, wheels[0])


def make_venv(root: str, wheel: Optional[str]) -> str:
    """A fresh venv (no pip of its own) that sees this environment's packages, with ``wheel`` (if given)
    installed ``--no-deps``. Returns its python."""
    base = getattr(sys, '_base_executable', None) or sys.executable
    subprocess.run([base, '-m', 'venv', '--without-pip', root], check=True, capture_output=True)
    py = osp.join(root, 'bin', 'python')
    purelib = subprocess.run([py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                             capture_output=True, text=True, check=True).stdout.strip()
    parents = dict.fromkeys([sysconfig.get_paths()['purelib'], sysconfig.get_paths()['platlib']])
    with open(osp.join(purelib, '_parent_env.pth'), 'w') as f:
        f.write('\n'.join(parents) + '\n')
    if wheel is not None:
        res = subprocess.run([py, '-m', 'pip', 'install', '--no-deps', '--no-index', '--disable-pip-version-check',
                              wheel], capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return py


def clean_env() -> dict:
    """Subprocess environment without the checkout on PYTHONPATH."""
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    env.setdefault('OMP_NUM_THREADS', '1')
    return env

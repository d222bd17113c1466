"""tools/install.sh: a failing step names itself; a second run on an installed venv is a no-op."""
import os
import subprocess
import sys

from conftest import REPO_ROOT


def test_failed_step_is_named(tmp_path):
    env = dict(os.environ, VENV=str(tmp_path / 'venv'), PYTHON='/bin/false')
    res = subprocess.run(['bash', 'tools/install.sh'], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert res.returncode != 0
    assert "FAILED at step 'venv'" in res.stderr
    assert 'python3-venv' in res.stderr  # says what to do


def test_second_run_is_a_no_op():
    venv = os.path.dirname(os.path.dirname(sys.executable))
    if not os.path.isfile(os.path.join(venv, '.rsseg_ext_install')):
        import pytest
        pytest.skip('this interpreter was not set up by tools/install.sh')
    env = dict(os.environ, VENV=venv)
    # the first run brings the venv up to date if this checkout changed since `make test` (normally a no-op
    # already); the second must then find nothing to do
    for _ in range(2):
        res = subprocess.run(['bash', 'tools/install.sh'], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                             timeout=900)
        assert res.returncode == 0, res.stderr[-2000:]
    assert 'is up to date (nothing to install)' in res.stdout
    assert 'pip' not in res.stdout.lower()

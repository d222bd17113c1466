"""The command blocks the docs mark ``<!-- runnable -->`` run verbatim, on a 2-iteration demo.

A sandbox folder gets the checkout's ``configs/``, ``tools/`` and ``data_converters/`` (symlinks) and the outputs of
``tools/demo.py --iters 2`` in ``demo_outputs/`` -- what a user has after ``make demo`` -- and each marked block
runs there with ``bash -euo pipefail``, the venv's ``python`` first on PATH. Every other command in the docs is
checked statically by tests/test_packaging/test_docs_commands.py.
"""
import glob
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, tool_env

pytestmark = pytest.mark.timeout(900)
MARK = re.compile(r'<!-- runnable -->\n```(?:bash|sh)\n(.*?)\n```', re.S)


def runnable_blocks():
    out = []
    for path in [osp.join(REPO_ROOT, 'README.md')] + sorted(glob.glob(osp.join(REPO_ROOT, 'docs', '**', '*.md'),
                                                                           recursive=True)):
        text = open(path, encoding='utf-8').read()
        for i, m in enumerate(MARK.finditer(text)):
            out.append(pytest.param(m.group(1), id=f'{osp.relpath(path, REPO_ROOT)}#{i}'))
    return out


@pytest.fixture(scope='module')
def sandbox(tmp_path_factory):
    root = tmp_path_factory.mktemp('user_checkout')
    for name in ('configs', 'tools', 'data_converters'):
        os.symlink(osp.join(REPO_ROOT, name), root / name)
    res = subprocess.run([sys.executable, 'tools/demo.py', '--iters', '2', '--out', str(root / 'demo_outputs')],
                         cwd=REPO_ROOT, env=tool_env(), capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    return root


def test_some_blocks_are_marked():
    assert len(runnable_blocks()) >= 1


@pytest.mark.parametrize('block', runnable_blocks())
def test_runnable_block(block, sandbox):
    env = tool_env()
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env.get('PATH', '')
    res = subprocess.run(['bash', '-euo', 'pipefail', '-c', block], cwd=str(sandbox), env=env,
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, f'{block}\n---\n{(res.stdout + res.stderr)[-4000:]}'

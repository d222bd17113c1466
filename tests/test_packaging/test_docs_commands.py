"""The shell commands in README.md and docs/**/*.md name things that exist.

Every line of every ```bash block is checked: scripts exist, every ``--flag`` is one the script's own ``--help``
lists, ``make`` targets are in the Makefile, ``-r``/``-c`` requirement files exist, ``mim`` subcommands are
openmim's and the config names it is given exist under configs/ (how mim finds them in rsseg_ext/.mim/configs).
The commands that can run on tiny data run in test_wheel_install.py (mim train/test/search/list, the wheel build).
"""
import functools
import glob
import os.path as osp
import re
import shlex
import subprocess
import sys

import pytest
from conftest import REPO_ROOT

DOCS = ['README.md'] + sorted(osp.relpath(p, REPO_ROOT) for p in glob.glob(osp.join(REPO_ROOT, 'docs', '**', '*.md'),
                                                                          recursive=True))


def bash_commands(doc: str) -> list:
    text = open(osp.join(REPO_ROOT, doc), encoding='utf-8').read()
    commands = []
    for block in re.findall(r'```bash\n(.*?)```', text, re.S):
        for line in block.replace('\\\n', ' ').splitlines():
            tokens = shlex.split(line, comments=True)
            while tokens and re.fullmatch(r'[A-Z_]+=\S*', tokens[0]):  # MAX_JOBS=8 pip ...
                tokens = tokens[1:]
            if tokens:
                commands.append(tokens)
    return commands


@functools.lru_cache(maxsize=None)
def script_help(script: str) -> str:
    if script.endswith('.sh'):
        return open(osp.join(REPO_ROOT, script), encoding='utf-8').read()
    res = subprocess.run([sys.executable, script, '--help'], cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, f'{script} --help failed: {res.stderr[-1000:]}'
    return res.stdout


def _flags(tokens):
    return [t.strip('[]') .split('=')[0] for t in tokens if t.strip('[]').startswith('--')]


def check(tokens: list) -> None:
    cmd = tokens[0]
    if cmd == 'make':
        targets = re.findall(r'^([\w-]+):', open(osp.join(REPO_ROOT, 'Makefile')).read(), re.M)
        assert tokens[1] in targets, tokens
    elif cmd in ('python', 'python3') and tokens[1:2] != ['-m'] and tokens[1:2] != ['-c']:
        script = tokens[1]
        assert osp.isfile(osp.join(REPO_ROOT, script)), f'{script} does not exist'
        source = open(osp.join(REPO_ROOT, script), encoding='utf-8').read()
        for flag in _flags(tokens[2:]):
            # the flag's literal in the source is enough (fast); otherwise ask the script (shared argument helpers)
            assert f"'{flag}'" in source or flag in script_help(script), f'{script} has no {flag}'
    elif re.fullmatch(r'tools/\w+\.sh', cmd):
        assert osp.isfile(osp.join(REPO_ROOT, cmd)), f'{cmd} does not exist'
    elif cmd.endswith('pip') or cmd == 'pip':
        for opt, path in zip(tokens, tokens[1:]):
            if opt in ('-r', '-c'):
                assert osp.isfile(osp.join(REPO_ROOT, path)), f'{path} does not exist'
    elif cmd == 'mim':
        assert tokens[1] in ('train', 'test', 'search', 'list', 'run', 'download', 'install'), tokens
        if tokens[1] in ('train', 'test'):
            assert tokens[2] == 'rsseg_ext'
            name = tokens[3]
            found = [p for p in subprocess.run(['git', 'ls-files', 'configs'], cwd=REPO_ROOT, capture_output=True,
                                               text=True).stdout.split() if osp.basename(p) == name]
            assert len(found) == 1, f'mim finds configs by file name: {name} matches {found}'
            from mim.commands.train import cli as train_cli
            from mim.commands.test import cli as test_cli
            options = {o for p in (train_cli if tokens[1] == 'train' else test_cli).params for o in p.opts}
            # mim passes unknown options on to tools/<train|test>.py
            tool = script_help(f'tools/{tokens[1]}.py')
            for flag in _flags(tokens[4:]):
                assert flag in options or flag in tool, f'mim {tokens[1]}: unknown {flag}'


@pytest.mark.parametrize('doc', DOCS)
def test_every_shell_command_names_existing_things(doc):
    pytest.importorskip('mim')
    commands = bash_commands(doc)
    assert commands
    for tokens in commands:
        check(tokens)


def test_the_check_catches_a_wrong_flag_and_a_missing_script():
    with pytest.raises(AssertionError, match='no --windw'):
        check(['python', 'tools/infer_scene.py', 'C', 'K', 's.tif', 'p.tif', '--windw', '3'])
    with pytest.raises(AssertionError, match='does not exist'):
        check(['python', 'tools/nope.py'])
    with pytest.raises(AssertionError, match='matches'):
        check(['mim', 'train', 'rsseg_ext', 'no_such_config.py'])

"""Installing rsseg_ext never replaces the user's torch.

``pip install --dry-run --report`` of the built wheel into an environment that holds only torch (and, second
case, torch + its torchvision): the resolver, with PyPI, must not plan to install torch, torchvision, triton or
CUDA wheels. Reference for torch <-> torchvision pairs: torchvision's own ``Requires-Dist: torch==X``.
"""
import importlib.metadata as md
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
from conftest import REPO_ROOT
from packaging.requirements import Requirement

from rsseg_ext.utils.torch_stack import matching_torchvision
from wheel_env import build_wheel, copy_source

TORCH_FAMILY = re.compile(r'^(torch|torchvision|torchaudio|triton|nvidia-.*|cuda-.*)$')


def _closure(*roots: str) -> list:
    """Installed distributions ``roots`` need (their requirement closure), as dist-info folders."""
    seen, todo, folders = set(), list(roots), []
    while todo:
        name = todo.pop()
        key = re.sub(r'[-_.]+', '-', name).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        folders.append(str(dist._path))  # the .dist-info folder: all pip reads of an installed package
        for r in dist.requires or []:
            req = Requirement(r)
            if req.marker is None or req.marker.evaluate({'extra': ''}):
                todo.append(req.name)
    return folders


def _env_with(tmp_path, *roots: str) -> str:
    """A fresh venv (no pip) that sees only the metadata of ``roots`` and what they require."""
    only = tmp_path / 'only'
    only.mkdir()
    for folder in _closure(*roots):
        os.symlink(folder, only / osp.basename(folder))
    base = getattr(sys, '_base_executable', None) or sys.executable
    env = tmp_path / 'env'
    subprocess.run([base, '-m', 'venv', '--without-pip', str(env)], check=True, capture_output=True)
    py = str(env / 'bin' / 'python')
    purelib = subprocess.run([py, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                             capture_output=True, text=True, check=True).stdout.strip()
    with open(osp.join(purelib, 'only.pth'), 'w') as f:
        f.write(str(only) + '\n')
    return py


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> str:
    return build_wheel(copy_source(REPO_ROOT, str(tmp_path_factory.mktemp('src'))),
                       str(tmp_path_factory.mktemp('dist')))


def _dry_run(py: str, *args: str) -> list:
    report = osp.join(osp.dirname(osp.dirname(py)), 'report.json')
    res = subprocess.run([sys.executable, '-m', 'pip', '--python', py, 'install', '--dry-run', '--quiet',
                          '--disable-pip-version-check', '--report', report, *args],
                         capture_output=True, text=True, timeout=900)
    if res.returncode != 0 and re.search(r'NewConnectionError|Failed to establish|Temporary failure in name '
                                         r'resolution|No matching distribution found for (mmengine|mmsegmentation)',
                                         res.stderr):
        pytest.skip('the package index is unreachable: ' + res.stderr.strip().splitlines()[-1][:200])
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    with open(report, encoding='utf-8') as f:
        return [(i['metadata']['name'], i['metadata']['version']) for i in json.load(f)['install']]


def test_wheel_into_a_torch_only_env_keeps_torch(wheel, tmp_path):
    plan = _dry_run(_env_with(tmp_path, 'torch'), wheel)
    names = {re.sub(r'[-_.]+', '-', n).lower() for n, _ in plan}
    assert {'rsseg-ext', 'mmsegmentation', 'mmengine', 'mmpretrain'} <= names, plan  # a real resolution
    assert not [p for p in plan if TORCH_FAMILY.match(re.sub(r'[-_.]+', '-', p[0]).lower())], plan


def test_optional_clip_requirements_keep_torch_and_torchvision(wheel, tmp_path):
    """With the matching torchvision installed (tools/install.sh pins it), open_clip_torch and timm add no torch."""
    plan = _dry_run(_env_with(tmp_path, 'torch', 'torchvision'), wheel,
                    '-r', osp.join(REPO_ROOT, 'requirements', 'optional.txt'))
    names = {re.sub(r'[-_.]+', '-', n).lower() for n, _ in plan}
    assert {'rsseg-ext', 'open-clip-torch', 'timm'} <= names, plan
    assert not [p for p in plan if TORCH_FAMILY.match(re.sub(r'[-_.]+', '-', p[0]).lower())], plan


def test_no_install_requirement_needs_torch():
    text = open(osp.join(REPO_ROOT, 'requirements', 'runtime.txt'), encoding='utf-8').read()
    reqs = [Requirement(line.split('#')[0].strip()).name.lower() for line in text.splitlines()
            if line.split('#')[0].strip()]
    assert not [r for r in reqs if TORCH_FAMILY.match(r) or r in ('open-clip-torch', 'open_clip_torch', 'timm')]


def test_torchvision_pin_matches_torchvisions_own_metadata():
    assert matching_torchvision('2.13.0+cpu') == '0.28.*' and matching_torchvision('2.0.1') == '0.15.*'
    assert matching_torchvision('1.13.1') is None
    tv = md.distribution('torchvision')
    torch_pin = [Requirement(r) for r in tv.requires if Requirement(r).name == 'torch'][0]
    pinned = re.match(r'==(\d+\.\d+\.\d+)', str(torch_pin.specifier)).group(1)  # e.g. torch==2.13.0
    assert re.fullmatch(matching_torchvision(pinned).replace('.*', r'\.\d+'), tv.version.split('+')[0])


def test_missing_torchvision_is_one_line_naming_the_pin():
    res = subprocess.run([sys.executable, '-c', "import sys; sys.modules['torchvision'] = None; import rsseg_ext"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode != 0
    import torch
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith('ImportError: rsseg_ext needs torchvision'), res.stderr[-2000:]
    assert f"'torchvision=={matching_torchvision(torch.__version__)}'" in last

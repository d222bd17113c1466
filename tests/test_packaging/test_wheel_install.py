"""Installed like an OpenMMLab package: the wheel carries rsseg_ext/.mim, and from a folder outside any checkout
``mim train`` / ``mim test rsseg_ext`` run the shipped demo config and ``_base_ = ['rsseg_ext::...']`` resolves.

openmim's contract (mim/commands/train.py, test.py): tools at ``<pkg>/.mim/tools/{train,test}.py``, configs found
by name under ``<pkg>/.mim/configs``; mmengine's (config/utils.py ``_get_external_cfg_base_path``): a
``pkg::path`` base is ``<pkg>/.mim/configs/path``.
"""
import os.path as osp
import re
import subprocess
import zipfile

import pytest
from conftest import REPO_ROOT, tiny_cfg_options

from wheel_env import build_wheel, clean_env, copy_source, make_venv

pytest.importorskip('mim')


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> str:
    src = copy_source(REPO_ROOT, str(tmp_path_factory.mktemp('src')))
    return build_wheel(src, str(tmp_path_factory.mktemp('dist')))


@pytest.fixture(scope='module')
def venv_python(wheel, tmp_path_factory) -> str:
    return make_venv(str(tmp_path_factory.mktemp('venv') / 'env'), wheel)


def test_wheel_carries_the_mim_extension(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in ('model-index.yml', 'configs/demo/fcn_r18-tiny_synthetic.py', 'configs/_base_/default_runtime.py',
                'configs/d2ls/metafile.yaml', 'configs/rskt_seg/vocabularies/dlrsd.txt', 'tools/train.py',
                'tools/test.py', 'tools/dist_train.sh', 'tools/model_converters/d2ls2mmseg.py',
                'data_converters/loveda.py', 'data_converters/_common.py'):
        assert f'rsseg_ext/.mim/{rel}' in names, rel
    # every metafile model-index.yml imports, every config and vocabulary of the checkout
    import yaml
    index = yaml.safe_load(open(osp.join(REPO_ROOT, 'model-index.yml')))
    for rel in index['Import']:
        assert f'rsseg_ext/.mim/{rel}' in names, rel
    shipped = {n[len('rsseg_ext/.mim/'):] for n in names if n.startswith('rsseg_ext/.mim/configs/')}
    vocab = osp.join(REPO_ROOT, 'configs', 'rskt_seg', 'vocabularies')
    assert {f'configs/rskt_seg/vocabularies/{f}' for f in __import__('os').listdir(vocab)} <= shipped
    assert not any('__pycache__' in n or n.endswith('.pyc') for n in names)


def _run(py, args, cwd, timeout=600):
    res = subprocess.run([py] + args, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, (res.stdout[-4000:] + res.stderr[-4000:])
    return res.stdout + res.stderr


def test_installed_package_is_the_wheel(venv_python, tmp_path):
    out = _run(venv_python, ['-c', 'import os, rsseg_ext; p = os.path.dirname(rsseg_ext.__file__); '
                             'print(p); print(os.path.islink(os.path.join(p, ".mim", "configs")))'], str(tmp_path))
    pkg, is_link = out.split()[-2:]
    assert pkg.startswith(osp.dirname(osp.dirname(venv_python))), pkg  # not the checkout
    assert is_link == 'False'  # a copy, not a link back into a checkout


def test_mim_train_and_test_from_an_installed_wheel(venv_python, tmp_path):
    from rsseg_ext.utils.synthetic import make_synthetic_dataset
    data = str(tmp_path / 'data')
    make_synthetic_dataset(data, num_scenes=dict(train=1, val=1), scene_size=128, tile=64, seed=3)
    run_dir = tmp_path / 'elsewhere'  # outside any checkout: only the installed .mim can supply config and tools
    run_dir.mkdir()
    work = str(run_dir / 'wd')
    opts = tiny_cfg_options(data)
    out = _run(venv_python, ['-m', 'mim', 'train', 'rsseg_ext', 'fcn_r18-tiny_synthetic.py', '--work-dir', work,
                             '--cfg-options'] + opts, str(run_dir))
    venv_root = osp.dirname(osp.dirname(venv_python))
    assert f'{venv_root}/lib' in out and '.mim/configs/demo/fcn_r18-tiny_synthetic.py' in out
    assert 'Training finished successfully' in out
    ckpt = osp.join(work, 'iter_2.pth')
    assert osp.isfile(ckpt)
    out = _run(venv_python, ['-m', 'mim', 'test', 'rsseg_ext', 'fcn_r18-tiny_synthetic.py', '--checkpoint', ckpt,
                             '--work-dir', str(run_dir / 'wdt'), '--cfg-options'] + opts, str(run_dir))
    assert 'Testing finished successfully' in out
    assert 'mIoU:' in out and 'aAcc:' in out


def test_rsseg_ext_config_scope_from_an_installed_wheel(venv_python, tmp_path):
    (tmp_path / 'my_d2ls.py').write_text("_base_ = ['rsseg_ext::d2ls/d2ls_convnext_loveda.py']\n"
                                         "train_cfg = dict(max_iters=10)\n")
    (tmp_path / 'my_rskt.py').write_text("_base_ = ['rsseg_ext::rskt_seg/rskt-seg_vit-b16_dlrsd.py']\n")
    code = ('import os, rsseg_ext\n'
            'from mmengine.config import Config\n'
            'c = Config.fromfile("my_d2ls.py")\n'
            'print("D2LS", c.model.decode_head.type, c.train_cfg.max_iters, c.train_dataloader.dataset.type)\n'
            'c = Config.fromfile("my_rskt.py")\n'
            'v = c.model.train_vocabulary\n'
            'print("VOCAB", os.path.isfile(v), v)\n')
    out = _run(venv_python, ['-c', code], str(tmp_path))
    assert 'D2LS D2LSHead 10 MultiImageMixDataset' in out, out[-2000:]
    line = next(ln for ln in out.splitlines() if ln.startswith('VOCAB'))
    assert line.startswith('VOCAB True') and '/rsseg_ext/.mim/configs/rskt_seg/vocabularies/dlrsd.txt' in line


def test_mim_search_and_list_see_the_installed_package(venv_python, tmp_path):
    out = _run(venv_python, ['-m', 'mim', 'search', 'rsseg_ext', '--dataset', 'loveda', '--field', 'training_data'],
               str(tmp_path))
    assert 'd2ls_convnext_loveda' in out and 'scsm_r50-d8_loveda' in out, out[-3000:]
    assert 'd2ls_convnext_uavid' not in out and 'scsm_r50-d8_isaid' not in out
    out = _run(venv_python, ['-m', 'mim', 'list'], str(tmp_path))
    assert re.search(r'^rsseg[-_]ext\s+\d', out, re.M), out[-3000:]


def test_editable_install_links_the_checkout(tmp_path):
    """``pip install -e .`` links .mim to the checkout's folders (mmseg's develop mode) instead of copying them."""
    import os
    src = copy_source(REPO_ROOT, str(tmp_path / 'src'))
    py = make_venv(str(tmp_path / 'env'), None)
    res = subprocess.run([py, '-m', 'pip', 'install', '--no-deps', '--no-build-isolation', '--no-index', '-e', src],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for name in ('configs', 'tools', 'data_converters', 'model-index.yml'):
        link = osp.join(src, 'rsseg_ext', '.mim', name)
        assert osp.islink(link) and os.readlink(link) == osp.join('..', '..', name), name
        assert osp.samefile(link, osp.join(src, name))


def test_installed_converters_and_tools_start(venv_python, tmp_path):
    """The wheel's data_converters load their helpers from the installed package (no checkout next to them)."""
    out = _run(venv_python, ['-c', 'import os, rsseg_ext; print(os.path.join(os.path.dirname(rsseg_ext.__file__), '
                             '".mim"))'], str(tmp_path))
    mim = out.split()[-1]
    converters = sorted(f for f in __import__('os').listdir(osp.join(mim, 'data_converters'))
                        if f.endswith('.py') and not f.startswith('_'))
    assert {'loveda.py', 'potsdam.py', 'isaid.py', 'gid.py'} <= set(converters)
    for name in converters:
        out = _run(venv_python, [osp.join(mim, 'data_converters', name), '--help'], str(tmp_path))
        assert 'usage:' in out, (name, out[-1000:])
    out = _run(venv_python, [osp.join(mim, 'tools', 'publish_model.py'), '--help'], str(tmp_path))
    assert 'usage:' in out


def test_relative_vocabulary_paths_resolve_in_the_installed_package(venv_python, tmp_path):
    """``--vocabulary configs/rskt_seg/vocabularies/<name>.txt`` (docs/open_vocabulary.md) without a checkout."""
    code = ('from rsseg_ext.models.text.vocabulary import load_vocabulary, resolve_vocabulary_path\n'
            'p = "configs/rskt_seg/vocabularies/dlrsd.txt"\n'
            'print("PATH", resolve_vocabulary_path(p)); print("N", len(load_vocabulary(p)))\n')
    out = _run(venv_python, ['-c', code], str(tmp_path))
    path = next(ln for ln in out.splitlines() if ln.startswith('PATH')).split()[1]
    assert path.startswith(osp.dirname(osp.dirname(venv_python))) and '/rsseg_ext/.mim/configs/' in path
    expected = [ln for ln in open(osp.join(REPO_ROOT, 'configs', 'rskt_seg', 'vocabularies', 'dlrsd.txt'))
                if ln.strip() and not ln.lstrip().startswith('#')]
    assert f'N {len(expected)}' in out

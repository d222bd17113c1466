"""rsseg_ext: remote-sensing semantic segmentation methods as an mmsegmentation 1.x plugin.

torch and mmcv are not declared as install requirements on purpose: torch must be the user's build (CPU or
CUDA) and mmcv 2.1.0 has to be compiled against it. Use ``make test``/``make demo`` or ``tools/install.sh``,
which install them in the right order (see docs/get_started.md). No install requirement may require torch or
torchvision either: open_clip_torch (CLIP-based models only, imported lazily) requires an unpinned torchvision,
and pip would take the newest one, which replaces the user's torch; it is listed in requirements/optional.txt and
installed by tools/install.sh next to the torchvision of the installed torch.

Like mmsegmentation's own setup.py, building a wheel or sdist copies ``configs/``, ``tools/``,
``data_converters/`` and ``model-index.yml`` into ``rsseg_ext/.mim/`` (an editable install links them instead), so
that openmim (``mim train/test/search rsseg_ext``) and mmengine's ``_base_ = ['rsseg_ext::...']`` find them in an
installed package.
"""
import os
import os.path as osp
import platform
import shutil
import sys
import warnings

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
#: what openmim / mmengine look for under <package>/.mim (mmseg ships configs, tools and model-index.yml)
MIM_FILES = ('configs', 'tools', 'data_converters', 'model-index.yml')


def read_version() -> str:
    ns: dict = {}
    with open(osp.join(HERE, 'rsseg_ext', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), ns)
    return ns['__version__']


def read_requirements(name: str) -> list:
    reqs = []
    with open(osp.join(HERE, 'requirements', name), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                reqs.append(line)
    return reqs


def add_mim_extension() -> None:
    """Put the files openmim needs into ``rsseg_ext/.mim`` (mmsegmentation's ``add_mim_extension``).

    Editable installs (``pip install -e .``: ``editable_wheel``, legacy ``develop``) get relative symlinks, so the
    checkout's files are the ones used; wheels and sdists get copies (``MANIFEST.in`` puts them in the archive).
    Other commands (``egg_info`` while pip resolves requirements) leave ``.mim`` as it is.
    """
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'copy' if platform.system() == 'Windows' else 'symlink'  # symlinks need privileges on Windows
    elif 'sdist' in sys.argv or 'bdist_wheel' in sys.argv:
        mode = 'copy'
    else:
        return
    mim_path = osp.join(HERE, 'rsseg_ext', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in MIM_FILES:
        src = osp.join(HERE, name)
        dst = osp.join(mim_path, name)
        if not osp.exists(src):  # building from an sdist: .mim already holds the copies
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, osp.dirname(dst)), dst)
        elif osp.isfile(src):
            shutil.copyfile(src, dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.py[cod]'))
        else:
            warnings.warn(f'cannot copy {src} into rsseg_ext/.mim')


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='rsseg_ext',
        version=read_version(),
        description='Remote-sensing semantic segmentation methods for mmsegmentation 1.x',
        long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
        long_description_content_type='text/markdown',
        python_requires='>=3.9',
        packages=find_packages(include=['rsseg_ext', 'rsseg_ext.*']),
        include_package_data=True,  # rsseg_ext/.mim/** as listed in MANIFEST.in
        install_requires=read_requirements('runtime.txt'),
        extras_require={'tests': read_requirements('tests.txt')},
        license='Apache-2.0',
        zip_safe=False,
    )

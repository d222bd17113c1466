"""rsseg_ext: remote-sensing semantic segmentation methods as an mmsegmentation 1.x plugin.

torch and mmcv are not declared as install requirements on purpose: torch must be the user's build (CPU or
CUDA) and mmcv 2.1.0 has to be compiled against it. Use ``make test``/``make demo`` or ``tools/install.sh``,
which install them in the right order (see docs/get_started.md).
"""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


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


setup(
    name='rsseg_ext',
    version=read_version(),
    description='Remote-sensing semantic segmentation methods for mmsegmentation 1.x',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(include=['rsseg_ext', 'rsseg_ext.*']),
    install_requires=read_requirements('runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt')},
    license='Apache-2.0',
    zip_safe=False,
)

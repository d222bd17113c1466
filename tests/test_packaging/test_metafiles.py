"""model-index.yml and configs/*/metafile.yaml as openmim reads them (modelindex.load + mim's search table).

A YAML flow mapping splits ``{crop size: (512,512)}`` at the comma into ``'(512'`` and a stray key ``'512)'``;
``mim search --dataset X`` keeps the models whose *own* ``Training Data`` equals X (mim/commands/search.py
``filter_by_training_datasets``; a list on the Collection is joined to 'a,b,c' and matches nothing).
"""
import os.path as osp
import re

import pytest
import yaml
from conftest import REPO_ROOT

pytest.importorskip('mim')
from mim.commands.search import convert2df, filter_by_training_datasets  # noqa: E402
from modelindex.load_model_index import load  # noqa: E402

INDEX = osp.join(REPO_ROOT, 'model-index.yml')
#: the dataset token of a config name -> the Training Data name (the spelling of the Collections' lists)
DATASETS = {'loveda': 'LoveDA', 'uavid': 'UAVid', 'potsdam': 'Potsdam', 'vaihingen': 'Vaihingen', 'isaid': 'iSAID',
            'deepglobe': 'DeepGlobe', 'inria': 'Inria', 'gid': 'GID', 'dlrsd': 'DLRSD'}


def _name_parts(config: str) -> list:
    """The first word of each part of an OpenMMLab config name: ``d2ls_convnext-b_8xb1-16k_loveda-512x512.py`` ->
    d2ls, convnext, 8xb1, loveda (the dataset part carries the crop after a dash)."""
    return [part.split('-')[0] for part in osp.basename(config)[:-3].split('_')]


@pytest.fixture(scope='module')
def index():
    return load(INDEX)


def _metafiles():
    return [osp.join(REPO_ROOT, p) for p in yaml.safe_load(open(INDEX))['Import']]


def test_every_metafile_parses_without_stray_keys():
    for path in _metafiles():
        meta = yaml.safe_load(open(path, encoding='utf-8'))
        for m in meta['Models']:
            md = m.get('Metadata', {})
            stray = [k for k, v in md.items() if v is None or re.search(r'[()]', str(k))]
            assert not stray, f'{path}: {m["Name"]} has stray metadata keys {stray} (quote values with commas)'
            if 'crop size' in md:
                assert re.fullmatch(r'\(\d+, ?\d+\)', str(md['crop size'])), (path, m['Name'], md['crop size'])
            assert 'Config' in m and osp.isfile(osp.join(REPO_ROOT, m['Config'])), (path, m['Name'])


def test_modelindex_finds_every_model_and_only_readme_paths_differ(index):
    names = {m.name for m in index.models}
    assert len(names) == len(index.models) >= 30
    assert {'d2ls_convnext_loveda', 'scsm_r50-d8_isaid', 'rskt-seg_vit-b16_dlrsd', 'fctl_vgg16_inria'} <= names
    # OpenMMLab metafiles give README relative to the repository root (mmseg: configs/<m>/README.md), while
    # modelindex's checker resolves it next to the metafile; every other check must pass
    errors = [e for e in index.check(silent=True) if 'README' not in e]
    assert not errors, errors


def test_each_model_names_its_own_training_data(index):
    collections = {c.name: c for c in index.collections}
    for m in index.models:
        data = m.metadata.data
        assert isinstance(data.get('Training Data'), str), f'{m.name}: no single Training Data'
        token = [t for t in _name_parts(m.config) if t in DATASETS]
        assert [data['Training Data']] == [DATASETS[t] for t in token], (m.name, data['Training Data'])
        coll = collections[m.in_collection].metadata.data.get('Training Data', [])
        assert data['Training Data'] in coll, (m.name, coll)


def test_mim_search_by_dataset_finds_the_models_trained_on_it(index):
    df = convert2df(index)
    assert not [c for c in df.columns if ')' in c and '/' not in c]  # no column from a split '(512,512)'
    assert set(df.loc['d2ls_convnext_loveda', ['crop_size']]) == {'(512,512)'}
    for token, name in (('loveda', 'LoveDA'), ('isaid', 'iSAID'), ('inria', 'Inria')):
        found = set(filter_by_training_datasets(df, [name.lower()]).index)
        expected = {m.name for m in index.models if token in _name_parts(m.config)}
        assert found == expected and found, (name, found, expected)
    assert 'd2ls_convnext_uavid' not in set(filter_by_training_datasets(df, ['loveda']).index)

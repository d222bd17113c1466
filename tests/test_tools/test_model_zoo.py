"""model-index.yml -> metafiles -> docs/model_zoo.md stay consistent."""
import os.path as osp
import subprocess
import sys

from conftest import REPO_ROOT

sys.path.insert(0, osp.join(REPO_ROOT, 'tools', 'misc'))
import gen_model_zoo  # noqa: E402


def test_every_metafile_model_has_a_config_and_clean_results():
    collections, models = gen_model_zoo.load_models()
    assert {'D2LS', 'SCSM', 'LOGCAN++'} <= set(collections)
    names = {m['Name'] for m in models}
    assert {'d2ls_convnext_loveda', 'scsm_r50-d8_vaihingen', 'logcanplus_r50-d8_potsdam'} <= names
    for m in models:
        assert osp.isfile(osp.join(REPO_ROOT, m['Config']))


def test_model_zoo_page_is_generated_and_current():
    res = subprocess.run([sys.executable, 'tools/misc/gen_model_zoo.py', '--check'], cwd=REPO_ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    page = open(osp.join(REPO_ROOT, 'docs', 'model_zoo.md')).read()
    assert 'Potsdam (5 classes, clutter excluded)' in page and 'tools/publish_model.py' in page


def test_release_weights_entries_name_existing_converters_and_configs():
    import re
    collections, _ = gen_model_zoo.load_models()
    entries = [(name, r) for name, c in collections.items() for r in c.get('Release weights') or []]
    assert {'FCtL', 'RSKT-Seg'} <= {name for name, _ in entries}
    for name, r in entries:
        assert set(r) == {'File', 'Convert', 'Evaluate', 'Agreement'}, name
        script = r['Convert'].split()[1]
        assert osp.isfile(osp.join(REPO_ROOT, script)), (name, script)
        for cfg in re.findall(r'configs/[\w/.-]+\.py', r['Evaluate']):  # brace patterns ({b16,l14}) are skipped
            assert osp.isfile(osp.join(REPO_ROOT, cfg)), (name, cfg)
    page = open(osp.join(REPO_ROOT, 'docs', 'model_zoo.md')).read()
    assert page.count('Released weights that convert') == len({name for name, _ in entries})

"README.md is made from nbs/index.ipynb by scripts/readme.py, its tables from the stored studies: it must be what they make now"
import subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def test_readme_is_made_from_index_and_the_studies():
    r = subprocess.run([sys.executable, str(ROOT/'scripts'/'readme.py'), '--check'], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr + r.stdout

def test_readme_tables_come_from_the_stored_studies():
    sys.path.insert(0, str(ROOT/'scripts'))
    from readme import render
    from fmsd_nb.core import WEIGHTS_DIR, load_json
    from fmsd_nb.studies import load_study, readme_panel_table, readme_speed_table
    folder = ROOT/'nbs'/'results'
    text = render()
    for table in (readme_panel_table(load_study('panel_10k', folder), link='nbs/results.ipynb'),
                  readme_speed_table(load_study('speed', folder), load_json(WEIGHTS_DIR/'config.json'))):
        assert table in text

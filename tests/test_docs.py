"""The docs site, checked without Quarto: nbdev's own preprocessing (`nbdev_proc_nbs`, the step `nbdev_docs` runs
before Quarto), rendered to HTML by Jupyter's nbconvert into `_docs/`, then every page opened in headless Chromium."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest, yaml

ROOT = Path(__file__).resolve().parent.parent
NBS = sorted((ROOT/'nbs').glob('*.ipynb'))
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')

def _bin(name): return str(Path(sys.executable).parent/name) if (Path(sys.executable).parent/name).exists() else name

def _front_matter_to_title(src:Path, dst:Path):
    "Quarto turns the front matter nbdev writes (title, description) into the page heading; do the same for nbconvert"
    nb = json.loads(src.read_text())
    c = nb['cells'][0] if nb['cells'] else None
    if c and c['cell_type'] == 'raw' and ''.join(c['source']).startswith('---'):
        fm = yaml.safe_load(''.join(c['source']).strip().strip('-')) or {}
        title, desc = str(fm.get('title', '')).strip(), str(fm.get('description', '')).strip()
        nb['cells'][0] = dict(cell_type='markdown', metadata={}, source=f'# {title}\n\n> {desc}\n' if desc else f'# {title}\n')
        nb['metadata']['title'] = title
    dst.write_text(json.dumps(nb))

@pytest.fixture(scope='session')
def site():
    "Build the checkable site into _docs/ (as CI does) and return its folder"
    subprocess.run([_bin('nbdev_proc_nbs')], cwd=ROOT, check=True, capture_output=True)
    out = ROOT/'_docs'; shutil.rmtree(out, ignore_errors=True); out.mkdir()
    pages = ROOT/'_proc'/'_pages'; shutil.rmtree(pages, ignore_errors=True); pages.mkdir()
    for p in sorted((ROOT/'_proc').glob('*.ipynb')): _front_matter_to_title(p, pages/p.name)
    subprocess.run([_bin('jupyter'), 'nbconvert', '--to', 'html', '--output-dir', str(out), *map(str, sorted(pages.glob('*.ipynb')))],
                   cwd=ROOT, check=True, capture_output=True)
    shutil.copytree(ROOT/'nbs'/'images', out/'images')
    return out

@pytest.fixture(scope='session')
def browser():
    if not CHROMIUM:
        if os.environ.get('FMSD_REQUIRE_BROWSER'): pytest.fail('no chromium found (CI installs Debian chromium)')
        pytest.skip('no chromium: install Debian chromium to check the docs pages in a browser')
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                                                               '--disable-component-update', '--disable-sync', '--no-first-run'])
        yield b
        b.close()

def test_every_notebook_has_a_page(site):
    assert sorted(p.stem for p in site.glob('*.html')) == sorted(p.stem for p in NBS)

@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_page(site, browser, nb, tmp_path):
    "The page has its notebook's title, no error outputs, and every image loads"
    page = browser.new_page()
    page.goto((site/f'{nb.stem}.html').as_uri(), wait_until='load')
    title = ''.join(json.loads(nb.read_text())['cells'][0]['source']).splitlines()[0].lstrip('# ').strip()
    assert page.title() == title and page.inner_text('h1').startswith(title), (title, page.title())
    assert 'Traceback (most recent call last)' not in page.inner_text('body'), f'{nb.stem}: an error output is on the page'
    imgs = page.eval_on_selector_all('img', 'els => els.map(e => [e.getAttribute("src").slice(0, 60), e.complete && e.naturalWidth > 0])')
    assert all(ok for _, ok in imgs), f'{nb.stem}: images that did not load: {[s for s, ok in imgs if not ok]}'
    # every chapter is stored with its outputs (scripts/execute_nbs.py), so every page shows its pictures
    assert imgs, f'{nb.stem}: the page shows no image (run scripts/execute_nbs.py on the notebook)'
    if nb.stem == 'index':
        assert any(s.startswith('images/grid.png') for s, _ in imgs), 'the front page does not show the generated grid'
        page.set_viewport_size({'width': 1100, 'height': 1400})
        page.screenshot(path=str(site/'index.png'), full_page=False)
    page.close()

"""The docs site, checked without Quarto: scripts/site.py builds it as CI does (nbdev's own preprocessing, the step
`nbdev_docs` runs before Quarto, then nbconvert into `_docs/`), then every page is opened in headless Chromium."""
import importlib.util, json, os, posixpath, re, shutil
from pathlib import Path
from urllib.parse import urlparse
import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location('fmsd_site', ROOT/'scripts'/'site.py')  # not `site`: that is Python's
site_py = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(site_py)
NBS = site_py.notebooks()
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')

def _rel(nb:Path): return nb.relative_to(ROOT/'nbs').as_posix()

@pytest.fixture(scope='session')
def site():
    "Build the checkable site into _docs/ (as CI does) and return its folder"
    return site_py.build(ROOT/'_docs', use_quarto=False)

@pytest.fixture(scope='session')
def pages(site): return {p.rel: p for p in site_py.pages()}

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

def test_every_notebook_has_a_page(site, pages):
    assert sorted(pages) == sorted(map(_rel, NBS))
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html')) == sorted(p.html for p in pages.values())

def test_sidebar_lists_every_notebook():
    "nbs/sidebar.yml (Quarto's sidebar, and the built site's) lists every notebook, and nothing else"
    listed = site_py.sidebar_files()
    assert sorted(set(listed)) == sorted(listed), f'listed twice in nbs/sidebar.yml: {sorted({f for f in listed if listed.count(f) > 1})}'
    assert not set(map(_rel, NBS)) - set(listed), f'notebooks missing from nbs/sidebar.yml: {sorted(set(map(_rel, NBS)) - set(listed))}'
    assert not set(listed) - set(map(_rel, NBS)), f'nbs/sidebar.yml lists files that are no notebooks: {sorted(set(listed) - set(map(_rel, NBS)))}'

def test_directives():
    "Quarto's cell directives, as scripts/site.py applies them (the notebooks may not use them all)"
    from nbformat.v4 import new_code_cell, new_notebook, new_output
    out = lambda: [new_output('stream', text='out\n')]
    cells = {'echo': '#| echo: false\n1', 'output': '#| output: false\n2', 'include': '#| include: false\n3', 'hide': '#| hide\n4',
             'eval': '#| eval: false\n5', 'other': '#| code-fold: show\n#| slow\n#|export\n6', 'empty': '#| exporti', 'plain': '7'}
    nb = new_notebook(cells=[new_code_cell(src, outputs=out() if k not in ('eval', 'empty') else [], metadata={'k': k}) for k, src in cells.items()])
    site_py.apply_directives(nb)
    got = {c.metadata.k: (c.source, bool(c.metadata.get('transient', {}).get('remove_source')), len(c.outputs)) for c in nb.cells}
    assert got == {'echo': ('1', True, 1), 'output': ('2', False, 0), 'eval': ('5', False, 0), 'other': ('6', False, 1), 'plain': ('7', False, 1)}
    assert nb.cells[3].metadata.site['code_fold'] == 'show'

_code = re.compile(r'^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1|`[^`\n]*`', flags=re.M | re.S)
_math = re.compile(r'\$\$.+?\$\$|(?<![\\$\w])\$(?![\s$])[^$\n]+?(?<![\s\\])\$(?![\d$])', flags=re.S)

def has_math(nb:Path) -> bool:
    "Does the notebook's prose hold TeX math (pandoc's rules: `$x$`, not `$ 5`; `$$...$$`), outside code?"
    cells = json.loads(nb.read_text())['cells']
    return any(_math.search(_code.sub('', ''.join(c['source']))) for c in cells if c['cell_type'] == 'markdown')

def _local(url:str) -> bool:
    u = urlparse(url)
    return u.scheme in ('file', 'data', 'blob', 'about') or u.hostname in ('localhost', '127.0.0.1', '::1')

@pytest.mark.parametrize('nb', NBS, ids=[_rel(p) for p in NBS])
def test_page(site, pages, browser, nb):
    "The page has its notebook's title, the sidebar, typeset math, no error output, directive or prompt; images load; all from the site"
    info = pages[_rel(nb)]
    page = browser.new_page()
    requests = []
    page.on('request', lambda r: requests.append(r.url))
    page.goto((site/info.html).as_uri(), wait_until='load')
    # MathJax typesets after the page loads; wait for it (where the page loads it)
    mathjax = page.evaluate('() => window.MathJax && MathJax.startup ? MathJax.startup.promise.then(() => true) : false')
    body = page.inner_text('body')

    title = ''.join(json.loads(nb.read_text())['cells'][0]['source']).splitlines()[0].lstrip('# ').strip()
    assert page.title() == title and page.inner_text('h1').startswith(title), (title, page.title())
    assert 'Traceback (most recent call last)' not in body, f'{nb.stem}: an error output is on the page'

    # the sidebar: every page of nbs/sidebar.yml, by its title, in order; this one highlighted
    links = page.eval_on_selector_all('nav#site-sidebar a', 'els => els.map(e => [e.getAttribute("href"), e.innerText.trim(), e.classList.contains("active")])')
    root = '../' * info.html.count('/')
    want = [(root + pages[f].html, pages[f].title) for f in site_py.sidebar_files() if f in pages]
    assert [(h, t) for h, t, _ in links] == want, f'{nb.stem}: sidebar links {links}, expected {want}'
    assert [h for h, _, active in links if active] == [root + info.html], f'{nb.stem}: the sidebar does not highlight this page'

    # what Quarto hides: cell directives, prompts, pandoc attributes of show_doc's links
    directives = re.findall(r'^\s*#\|.*$', body, flags=re.M)
    assert not directives, f'{nb.stem}: cell directives on the page: {directives[:5]}'
    prompts = re.findall(r'\b(?:In|Out)\s?\[\s*\d*\s*\]:', body)
    assert not prompts, f'{nb.stem}: In/Out prompts on the page: {prompts[:5]}'
    assert '{target=' not in body, f'{nb.stem}: a pandoc link attribute shows as text: {body[body.index("{target="):][:80]!r}'

    # math: typeset by MathJax, without TeX errors
    if has_math(nb):
        assert mathjax, f'{nb.stem}: the notebook has TeX math, but MathJax did not load'
        n, errors = page.locator('mjx-container').count(), page.locator('mjx-merror').all_inner_texts()
        assert n > 0, f'{nb.stem}: the notebook has TeX math, but none was typeset'
        assert not errors, f'{nb.stem}: TeX errors: {errors[:5]}'

    # links within the site lead to files of the site
    hrefs = page.eval_on_selector_all('a[href]', 'els => els.map(e => e.getAttribute("href"))')
    here = posixpath.dirname(info.html)
    broken = [h for h in hrefs if not urlparse(h).scheme and not h.startswith('#')
              and not (site/posixpath.normpath(posixpath.join(here, h.split('#')[0]))).is_file()]
    assert not broken, f'{nb.stem}: links to files the site does not have: {broken[:5]}'

    imgs = page.eval_on_selector_all('img', 'els => els.map(e => [e.getAttribute("src").slice(0, 60), e.complete && e.naturalWidth > 0])')
    assert all(ok for _, ok in imgs), f'{nb.stem}: images that did not load: {[s for s, ok in imgs if not ok]}'
    # every chapter is stored with its outputs (scripts/execute_nbs.py), so every page shows its pictures
    assert imgs, f'{nb.stem}: the page shows no image (run scripts/execute_nbs.py on the notebook)'
    if nb.stem == 'index':
        assert any(s.startswith('images/grid.png') for s, _ in imgs), 'the front page does not show the generated grid'
        page.set_viewport_size({'width': 1100, 'height': 1400})
        page.screenshot(path=str(site/'index.png'), full_page=False)

    # everything the page loaded (scripts, styles, fonts, images) came from the site itself
    remote = [u for u in requests if not _local(u)]
    assert not remote, f'{nb.stem}: the page loaded from other hosts: {remote[:5]}'
    page.close()

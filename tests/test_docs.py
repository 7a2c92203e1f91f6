"""The docs site, checked without Quarto: scripts/site.py builds it as CI does (nbdev's own preprocessing, the step
`nbdev_docs` runs before Quarto, then nbconvert into `_docs/`), then every page is opened in headless Chromium,
and the demo page generates images in it, served from 127.0.0.1 with every other host refused."""
import functools, http.server, importlib.util, json, os, posixpath, re, shutil, threading
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
    "A page per notebook, and the demo page"
    assert sorted(pages) == sorted(map(_rel, NBS))
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob('*.html')) == sorted([p.html for p in pages.values()] + [site_py.DEMO_PAGE])

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
    # every chapter is stored with its outputs (scripts/execute_nbs.py), so every page shows what its cells print and draw
    cells = json.loads(nb.read_text())['cells']
    assert nb.stem == 'index' or any(c.get('outputs') for c in cells), f'{nb.stem}: no stored outputs (run scripts/execute_nbs.py on the notebook)'
    stored = sum('image/png' in o.get('data', {}) for c in cells for o in c.get('outputs', []))
    assert len(imgs) >= stored, f'{nb.stem}: the notebook holds {stored} figures, the page shows {len(imgs)}'
    if nb.stem == 'index':
        assert any(s.startswith('images/grid.png') for s, _ in imgs), 'the front page does not show the generated grid'
        page.set_viewport_size({'width': 1100, 'height': 1400})
        page.screenshot(path=str(site/'index.png'), full_page=False)

    # everything the page loaded (scripts, styles, fonts, images) came from the site itself
    remote = [u for u in requests if not _local(u)]
    assert not remote, f'{nb.stem}: the page loaded from other hosts: {remote[:5]}'
    page.close()


# ------------------------------------------------------------------------------------------------ the demo page

MAX_MODEL_BYTES = 5_000_000  # the demo's model files; onnxruntime-web's WebAssembly (pinned in package.json) is extra
_PIXELS = '''() => Array.from(document.querySelectorAll('#demo-grid canvas'),
    c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0)))'''
_DONE = '() => window.fmsdDemo.last !== null && !document.querySelector("#demo-classes button").disabled'

class _QuietHandler(site_py.SiteHandler):
    def log_message(self, *args): pass

@pytest.fixture(scope='session')
def site_url(site):
    "The built site, served on 127.0.0.1 as `site.py serve` serves it (WebAssembly and module scripts need http://)"
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_QuietHandler, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    httpd.shutdown(); httpd.server_close()

@pytest.fixture(scope='session')
def pipe():
    from fmsd_nb.app import load_pretrained
    return load_pretrained(device='cpu')

def open_demo(browser, site_url, routes=()):
    "The demo page, offline: a request to another host fails. Returns the page, the URLs refused and the page's errors"
    page, refused, errors = browser.new_page(viewport={'width': 1200, 'height': 800}), [], []
    def offline(route):
        if _local(route.request.url): route.continue_()
        else: refused.append(route.request.url); route.abort()
    page.route('**/*', offline)
    for pattern, handler in routes: page.route(pattern, handler)  # (the last route registered runs first)
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.goto(site_url + site_py.DEMO_PAGE, wait_until='load')
    return page, refused, errors

def test_demo_files(site, pipe, capsys):
    "The model files, exported from the shipped weights at build time, total 5 MB at most; onnxruntime-web is the pinned one"
    from fmsd_nb.diffusion import SamplerSettings
    model = site/'demo'/'model'
    cfg, sizes = json.loads((model/'model.json').read_text()), {f.name: f.stat().st_size for f in model.iterdir()}
    with capsys.disabled(): print(f'\ndemo model files: {sizes}, total {sum(sizes.values())/1e6:.2f} MB')
    assert sorted(sizes) == sorted([*cfg['files'].values(), 'model.json'])
    assert sum(sizes.values()) <= MAX_MODEL_BYTES, f'the demo model files take {sum(sizes.values())} bytes'
    assert SamplerSettings(**cfg['sampling']) == pipe.teacher_settings and cfg['diffusion'] == pipe.meta['diffusion']
    pinned = json.loads((ROOT/'package.json').read_text())['dependencies']['onnxruntime-web']
    locked = json.loads((ROOT/'package-lock.json').read_text())['packages']['node_modules/onnxruntime-web']['version']
    assert re.fullmatch(r'\d+\.\d+\.\d+', pinned) and locked == pinned, (pinned, locked)
    assert f'ONNX Runtime Web v{pinned}' in (site/site_py.ORT_DST/'ort.wasm.min.mjs').read_text()[:300]

def test_demo_generates(site, browser, site_url, pipe, capsys):
    "Press a class: 8 images, the UNet's own sampler's in Python from the same noise to within 2/255; JS schedule and timesteps are Python's; nothing from elsewhere"
    import torch
    from fmsd_nb.app import to_uint8
    from fmsd_nb.diffusion import sampling_timesteps
    page, refused, errors = open_demo(browser, site_url)
    assert page.evaluate('() => window.fmsdDemo.ready'), page.inner_text('#demo-error')

    # the JavaScript noise schedule and timesteps are Python's, to the last bit
    js = page.evaluate("""() => { const {NoiseSchedule, samplingTimesteps} = window.fmsdDemo.sampler, s = new NoiseSchedule('linear', 1000);
        return {ab: Array.from(s.alphasCumprod), ts: [1, 2, 3, 5, 8, 10, 25, 50, 100, 999, 1000].map(S => ['trailing', 'logsnr'].map(sp => samplingTimesteps(S, 1000, sp, s)))}; }""")
    assert torch.equal(torch.tensor(js['ab'], dtype=torch.float32), pipe.sched.alphas_cumprod)
    assert js['ts'] == [[sampling_timesteps(S, 1000, sp, pipe.sched) for sp in ('trailing', 'logsnr')] for S in (1, 2, 3, 5, 8, 10, 25, 50, 100, 999, 1000)]

    # a click on "Sneaker": 8 images, timed from the click by the page; Python's from the noise the page drew
    page.click('#demo-classes button:text-is("Sneaker")')
    page.wait_for_function(_DONE, timeout=60_000)
    last, shown = page.evaluate('() => window.fmsdDemo.last'), page.evaluate(_PIXELS)
    assert last['label'] == 7 and len(shown) == 8 and all(len(p) == 28*28 for p in shown), (last['label'], len(shown))
    assert torch.tensor(shown).float().std(1).min() > 20, 'an image is blank'
    python = to_uint8(pipe.generate('sneaker', n=8, noise=torch.tensor(last['noise']).view(8, 4, 7, 7), sampler='dpmpp')).flatten(1).int()
    d_click = (torch.tensor(shown) - python).abs().max().item()
    page.screenshot(path=str(site/'demo_shot.png'), full_page=True)

    # the test's own noise (torch's), through the page's hook, for another class
    noise = torch.randn(8, 4, 7, 7, generator=torch.Generator().manual_seed(1))
    res = page.evaluate('([label, noise]) => window.fmsdDemo.generate({label, noise})', [8, noise.flatten().tolist()])
    python = to_uint8(pipe.generate('bag', n=8, noise=noise, sampler='dpmpp')).flatten(1).int()
    d_hook = max((torch.tensor(res['pixels']) - python).abs().max().item(), (torch.tensor(page.evaluate(_PIXELS)) - python).abs().max().item())
    with capsys.disabled():  # printed, not asserted: timings depend on the machine
        print(f"\ndemo: 8 images {last['ms']/1000:.2f} s after the click (then {res['ms']/1000:.2f} s) in headless Chromium, "
              f'{os.cpu_count()} CPUs; max pixel difference from Python {d_click} (seeded noise), {d_hook} (torch noise)')
    assert d_click <= 2 and d_hook <= 2, (d_click, d_hook)
    assert not refused, f'the demo asked other hosts: {refused[:5]}'
    assert not errors and page.is_hidden('#demo-error'), (errors, page.inner_text('#demo-error'))
    page.close()

def test_demo_bad_seed(browser, site_url):
    "A seed that is no whole number from 0 to 2^32-1 gets a message, and the page keeps working"
    page, refused, errors = open_demo(browser, site_url)
    for seed in ('abc', '-1', '1.5', '4294967296', ''):
        page.fill('#demo-seed', seed)
        page.click('#demo-classes button:text-is("Bag")')
        page.wait_for_selector('#demo-error:visible', timeout=5_000)
        assert 'The seed must be a whole number from 0 to 4294967295' in page.inner_text('#demo-error'), seed
        assert page.locator('#demo-grid canvas').count() == 0 and page.is_enabled('#demo-classes button')
    page.fill('#demo-seed', '4294967295')
    page.click('#demo-classes button:text-is("Bag")')
    page.wait_for_function(_DONE, timeout=60_000)
    assert page.is_hidden('#demo-error') and page.locator('#demo-grid canvas').count() == 8
    assert page.evaluate('() => window.fmsdDemo.last.seed') == 4294967295
    assert not refused and not errors, (refused, errors)
    page.close()

@pytest.mark.parametrize('how', ['missing', 'corrupt'])
def test_demo_model_fails_to_load(browser, site_url, how):
    "A model file that cannot be downloaded, or read, gets a message naming it; the buttons answer with it"
    fail = (lambda r: r.fulfill(status=404, body='File not found')) if how == 'missing' else \
           (lambda r: r.fulfill(status=200, body=b'this is not an ONNX model', content_type='application/octet-stream'))
    page, refused, errors = open_demo(browser, site_url, routes=[('**/demo/model/unet.onnx', fail)])
    assert page.evaluate('() => window.fmsdDemo.ready') is False
    msg = page.inner_text('#demo-error')
    assert page.is_visible('#demo-error') and 'unet.onnx' in msg, msg
    assert ('HTTP 404' if how == 'missing' else 'could not be loaded') in msg, msg
    page.click('#demo-classes button:text-is("Sneaker")')
    page.wait_for_function('() => !document.querySelector("#demo-classes button").disabled', timeout=5_000)
    assert 'unet.onnx' in page.inner_text('#demo-error') and page.locator('#demo-grid canvas').count() == 0
    assert not refused and not errors, (refused, errors)
    page.close()

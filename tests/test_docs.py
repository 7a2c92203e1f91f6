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

MAX_MODEL_BYTES, MAX_READY_BYTES = 10_000_000, 5_500_000  # the demo's model files, all and before it is usable
_PIXELS = '''() => Array.from(document.querySelectorAll('#demo-grid canvas'),
    c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0)))'''
_IDLE = '() => !document.querySelector("#demo-classes button").disabled'
_DONE = '() => window.fmsdDemo.last !== null && !document.querySelector("#demo-classes button").disabled'
_GEN = '(args) => window.fmsdDemo.generate(args)'

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

@pytest.fixture(scope='session')
def model_cfg(site): return json.loads((site/'demo'/'model'/'model.json').read_text())

@pytest.fixture(scope='session')
def examples(site): return json.loads((site/'demo'/'examples.json').read_text())['examples']

def open_demo(browser, site_url, routes=()):
    "The demo page, offline: a request to another host fails. Returns the page, the URLs refused, the page's errors, the model files asked for"
    page, refused, errors, model_files = browser.new_page(viewport={'width': 1200, 'height': 800}), [], [], []
    def offline(route):
        if _local(route.request.url): route.continue_()
        else: refused.append(route.request.url); route.abort()
    page.route('**/*', offline)
    for pattern, handler in routes: page.route(pattern, handler)  # (the last route registered runs first)
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.on('request', lambda r: model_files.append(r.url.rsplit('/', 1)[-1]) if '/demo/model/' in r.url else None)
    page.goto(site_url + site_py.DEMO_PAGE, wait_until='load')
    return page, refused, errors, model_files

def test_demo_files(site, pipe, model_cfg, capsys):
    "The model files, exported from the shipped weights at build time: 10 MB at most, 5.5 MB before the page is usable; the samplers are the package's"
    from fmsd_nb.samplers import SamplerSettings
    model, cfg, nets = site/'demo'/'model', model_cfg, model_cfg['networks']
    sizes = {f.name: f.stat().st_size for f in model.iterdir()}
    ready = sum(sizes[f] for f in site_py.ready_files(cfg))
    with capsys.disabled(): print(f'\ndemo model files: {sizes}, total {sum(sizes.values())/1e6:.2f} MB, usable after {ready/1e6:.2f} MB')
    files = ['model.json', *cfg['vae'].values(), *(n[k] for n in nets.values() for k in ('onnx', 'tokens'))]
    assert sorted(sizes) == sorted(files), (sorted(sizes), sorted(files))
    assert sum(sizes.values()) <= MAX_MODEL_BYTES, f'the demo model files take {sum(sizes.values())} bytes'
    assert ready <= MAX_READY_BYTES, f'the demo page needs {ready} bytes of model files before it is usable'
    st = pipe.meta['student']
    assert SamplerSettings(**nets['teacher']['sampling']) == pipe.teacher_settings and cfg['diffusion'] == pipe.meta['diffusion']
    assert SamplerSettings(**nets['student']['sampling']) == SamplerSettings(**st['sampling']) and nets['student']['timesteps'] == st['timesteps']
    default = nets[cfg['default']]['sampling']
    assert (cfg['default'] == 'student') == bool(st.get('default')) and SamplerSettings(**default) == pipe.settings
    pinned = json.loads((ROOT/'package.json').read_text())['dependencies']['onnxruntime-web']
    locked = json.loads((ROOT/'package-lock.json').read_text())['packages']['node_modules/onnxruntime-web']['version']
    assert re.fullmatch(r'\d+\.\d+\.\d+', pinned) and locked == pinned, (pinned, locked)
    assert f'ONNX Runtime Web v{pinned}' in (site/site_py.ORT_DST/'ort.wasm.min.mjs').read_text()[:300]

def _python(pipe, label, noise, sampler=None, steps=None, blend=None, init=None, strength=1.):
    "Python's 8 images (uint8, flattened) for what the page was asked: `blend` is (a, b, w), as `class_mix` takes it"
    import contextlib, torch
    from fmsd_nb.app import class_mix, to_uint8
    kw = dict(n=8, noise=noise, sampler=sampler, steps=steps, init=init, strength=strength)
    net = pipe.request(sampler=sampler, steps=steps)[0]  # the network the request runs
    with class_mix(net, blend[0], blend[1], torch.full((8,), blend[2])) if blend else contextlib.nullcontext():
        return to_uint8(pipe.generate(label, **kw)).flatten(1).int()

def _diff(pixels, python) -> int:
    import torch
    return (torch.tensor(pixels) - python).abs().max().item()

def test_demo_generates(site, browser, site_url, pipe, model_cfg, examples, capsys):
    "Each sampler, a blend and a finished test image are Python's from the same noise to within 2/255; the student runs its 2 passes to the teacher's 7; the page loads only what it needs"
    import torch
    from fmsd_nb.app import to_uint8
    from fmsd_nb.diffusion import sampling_timesteps
    from fmsd_nb.samplers import unet_passes
    page, refused, errors, model_files = open_demo(browser, site_url)
    assert page.evaluate('() => window.fmsdDemo.ready'), page.inner_text('#demo-error')
    first = list(model_files)  # what the page loaded before it was usable: the default network, its tokens, the decoder
    assert sorted(first) == sorted(site_py.ready_files(model_cfg)), first
    ready_bytes = sum((site/'demo'/'model'/f).stat().st_size for f in first)
    assert ready_bytes <= MAX_READY_BYTES, ready_bytes

    # the JavaScript noise schedule and timesteps are Python's, to the last bit
    js = page.evaluate("""() => { const {NoiseSchedule, samplingTimesteps} = window.fmsdDemo.sampler, s = new NoiseSchedule('linear', 1000);
        return {ab: Array.from(s.alphasCumprod), ts: [1, 2, 3, 5, 8, 10, 25, 50, 100, 999, 1000].map(S => ['trailing', 'logsnr'].map(sp => samplingTimesteps(S, 1000, sp, s)))}; }""")
    assert torch.equal(torch.tensor(js['ab'], dtype=torch.float32), pipe.sched.alphas_cumprod)
    assert js['ts'] == [[sampling_timesteps(S, 1000, sp, pipe.sched) for sp in ('trailing', 'logsnr')] for S in (1, 2, 3, 5, 8, 10, 25, 50, 100, 999, 1000)]

    # the samplers offered, from model.json: the student in 1 and 2 passes (the default), the teacher's 5 steps
    choices = page.evaluate('() => window.fmsdDemo.choices()')
    assert [(c['id'], c['steps'], c['isDefault']) for c in choices] == [('student-1', 1, False), ('student-2', 2, True), ('teacher', 5, False)], choices
    assert page.locator('input[name="demo-sampler"]:checked').get_attribute('value') == 'student-2'

    # a click on "Sneaker": 8 images with the default sampler, timed from the click by the page; Python's from the noise the page drew
    page.click('#demo-classes button:text-is("Sneaker")')
    page.wait_for_function(_DONE, timeout=60_000)
    last, shown = page.evaluate('() => window.fmsdDemo.last'), page.evaluate(_PIXELS)
    assert last['label'] == 7 and last['sampler'] == 'student-2' and len(shown) == 8 and all(len(p) == 28*28 for p in shown)
    assert torch.tensor(shown).float().std(1).min() > 20, 'an image is blank'
    d = {'click (student, 2 passes)': _diff(shown, _python(pipe, 'sneaker', torch.tensor(last['noise']).view(8, 4, 7, 7)))}
    assert 'unet.onnx' not in model_files and 'encoder.onnx' not in model_files, model_files  # loaded only when asked for

    # the test's own noise (torch's), through the page's hook: each sampler, a blend at 0.5, a test image finished at 0.6
    noise = torch.randn(8, 4, 7, 7, generator=torch.Generator().manual_seed(1))
    init = examples[0]
    cases = {'student, 1 pass': (dict(label=8, sampler='student-1'), dict(label=8, sampler='student', steps=1)),
             'student, 2 passes': (dict(label=8, sampler='student-2'), dict(label=8, sampler='student', steps=2)),
             'teacher, 5 steps': (dict(label=8, sampler='teacher'), dict(label=8, sampler='dpmpp')),
             'blend 0.5 Sneaker-Ankle boot': (dict(label=0, blend=dict(a=7, b=9, w=0.5)), dict(label=7, blend=(7, 9, 0.5))),
             f'test image {init["index"]} at strength 0.6': (dict(label=5, init=init['pixels'], strength=0.6),
                                                             dict(label=5, init=torch.tensor(init['pixels']).view(1, 28, 28)/127.5 - 1, strength=0.6))}
    for name, (js_args, py_args) in cases.items():
        res = page.evaluate(_GEN, dict(js_args, noise=noise.flatten().tolist()))
        python = _python(pipe, noise=noise, **py_args)
        d[name] = max(_diff(res['pixels'], python), _diff(page.evaluate(_PIXELS), python))
        if name.startswith('teacher'):  # watch it denoise: each step's predicted clean image, decoded, as Python's callback sees it
            x0s = []
            pipe.generate(8, n=8, noise=noise, sampler='dpmpp', callback=lambda i, t, x, x0: x0s.append(x0))
            strip = torch.stack([to_uint8(pipe.vae.from_latent(x0)).flatten(1).int() for x0 in x0s])
            assert [s['t'] for s in res['strip']] == res['steps'] and len(res['strip']) == 5 and page.is_visible('#demo-strip')
            d['teacher, denoising strip'] = (torch.tensor([s['images'] for s in res['strip']]) - strip).abs().max().item()
            assert page.locator('#demo-strip-images canvas').count() == 5
    assert res['steps'] == [302], res['steps']  # strength 0.6 of the student's 2 passes: the last one
    page.screenshot(path=str(site/'demo_shot.png'), full_page=True)

    # eight images with the default student against the teacher's five steps, on this page, alternating, 7 rounds: the
    # fastest and the median of each printed, not asserted (a busy machine changes seconds); what makes the student
    # faster is checked instead, its network passes per image
    times, passes = {'student-2': [], 'teacher': []}, {}
    for _ in range(7):
        for k in times:
            res = page.evaluate(_GEN, dict(label=7, seed=3, sampler=k))
            times[k].append(res['computeMs'] / 1000); passes[k] = res['passes']
    best, med = ({k: f(v) for k, v in times.items()} for f in (min, lambda v: sorted(v)[3]))
    with capsys.disabled():  # printed: timings depend on the machine
        print(f"\ndemo: 8 images {last['ms']/1000:.2f} s after the first click (student, 2 passes); on the same page, 7 rounds, "
              f"best (median): student 2 passes {best['student-2']:.3f} s ({med['student-2']:.3f}), teacher 5 steps "
              f"{best['teacher']:.3f} s ({med['teacher']:.3f}), {best['teacher']/best['student-2']:.1f}x "
              f"({med['teacher']/med['student-2']:.1f}x) for {passes['teacher']:g} network passes to {passes['student-2']:g}, in headless Chromium, {os.cpu_count()} CPUs; "
              f"usable after {ready_bytes/1e6:.2f} MB of model files")
        print('demo: max pixel difference from Python: ' + ', '.join(f'{k} {v}' for k, v in d.items()))
    assert max(d.values()) <= 2, d
    assert passes == {'student-2': 2, 'teacher': unet_passes(pipe.teacher_settings, pipe.sched)}, passes
    assert passes['teacher'] == 7, passes  # five steps, two of them guided
    assert not refused, f'the demo asked other hosts: {refused[:5]}'
    assert not errors and page.is_hidden('#demo-error'), (errors, page.inner_text('#demo-error'))
    page.close()

def test_demo_blend_and_sketch(browser, site_url, pipe, examples):
    "The blend slider and the sketch pad as a visitor uses them: a line drawn with the mouse, a test image to start from; an empty pad gets a message"
    import torch
    page, refused, errors, _ = open_demo(browser, site_url)
    assert page.evaluate('() => window.fmsdDemo.ready'), page.inner_text('#demo-error')
    page.click('#demo-tab-blend')
    page.select_option('#demo-blend-a', '0'); page.wait_for_function(_DONE, timeout=60_000)  # T-shirt/top to Ankle boot
    page.fill('#demo-blend-w', '0.25')
    page.wait_for_function('() => window.fmsdDemo.last?.blend?.w === 0.25 && !document.querySelector("#demo-classes button").disabled', timeout=60_000)
    last = page.evaluate('() => window.fmsdDemo.last')
    assert last['blend'] == dict(a=0, b=9, w=0.25) and '75% T-shirt/top, 25% Ankle boot' in page.inner_text('#demo-status')
    assert _diff(page.evaluate(_PIXELS), _python(pipe, 0, torch.tensor(last['noise']).view(8, 4, 7, 7), blend=(0, 9, 0.25))) <= 2

    page.click('#demo-tab-sketch')
    page.click('#demo-finish')
    page.wait_for_selector('#demo-error:visible', timeout=5_000)
    assert 'The sketch pad is empty' in page.inner_text('#demo-error') and page.is_enabled('#demo-finish')
    box = page.locator('#demo-pad').bounding_box()
    page.mouse.move(box['x'] + box['width']*0.3, box['y'] + box['height']*0.5); page.mouse.down()
    page.mouse.move(box['x'] + box['width']*0.7, box['y'] + box['height']*0.5, steps=8); page.mouse.up()
    drawn = torch.tensor(page.evaluate('() => window.fmsdDemo.sketch')).view(28, 28)
    assert drawn.sum() > 0 and drawn[:8].sum() == 0, 'the mouse did not draw a line across the middle'
    page.click('#demo-finish')
    page.wait_for_function('() => window.fmsdDemo.last?.sketch && !document.querySelector("#demo-finish").disabled', timeout=60_000)
    assert page.is_hidden('#demo-error') and page.locator('#demo-grid canvas').count() == 8
    page.click('#demo-examples button >> nth=8')  # the first Bag of the test split
    page.select_option('#demo-sketch-class', '5')
    page.click('#demo-finish')
    page.wait_for_function('() => window.fmsdDemo.last?.label === 5 && !document.querySelector("#demo-finish").disabled', timeout=60_000)
    last, ex = page.evaluate('() => window.fmsdDemo.last'), examples[8]
    assert last['sketch'] and last['strength'] == 0.6 and page.evaluate('() => window.fmsdDemo.sketch') == ex['pixels']
    init = torch.tensor(ex['pixels']).view(1, 28, 28)/127.5 - 1
    assert _diff(page.evaluate(_PIXELS), _python(pipe, 5, torch.tensor(last['noise']).view(8, 4, 7, 7), init=init, strength=0.6)) <= 2
    assert not refused and not errors, (refused, errors)
    page.close()

def test_demo_bad_seed(browser, site_url):
    "A seed that is no whole number from 0 to 2^32-1 gets a message, and the page keeps working"
    page, refused, errors, _ = open_demo(browser, site_url)
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
@pytest.mark.parametrize('file', ['student.onnx', 'unet.onnx'])
def test_demo_model_fails_to_load(browser, site_url, how, file):
    "A model file that cannot be downloaded, or read, gets one message naming it, and the page stays usable"
    fail = (lambda r: r.fulfill(status=404, body='File not found')) if how == 'missing' else \
           (lambda r: r.fulfill(status=200, body=b'this is not an ONNX model', content_type='application/octet-stream'))
    page, refused, errors, _ = open_demo(browser, site_url, routes=[(f'**/demo/model/{file}', fail)])
    needed = file == 'student.onnx'  # the default network: nothing generates without it; the teacher loads when picked
    assert page.evaluate('() => window.fmsdDemo.ready') is not needed
    if not needed: page.click('input[value="teacher"]')
    page.click('#demo-classes button:text-is("Sneaker")')
    page.wait_for_function(_IDLE, timeout=60_000)
    page.wait_for_selector('#demo-error:visible', timeout=5_000)
    msg = page.inner_text('#demo-error')
    assert file in msg and ('HTTP 404' if how == 'missing' else 'could not be loaded') in msg, msg
    assert page.locator('#demo-grid canvas').count() == 0 and page.is_enabled('#demo-classes button')
    if needed:  # a press asks for the file again, and says so again
        page.click('#demo-classes button:text-is("Bag")'); page.wait_for_function(_IDLE, timeout=60_000)
        assert file in page.inner_text('#demo-error') and page.locator('#demo-grid canvas').count() == 0
    else:  # the student still works
        page.click('input[value="student-2"]'); page.click('#demo-classes button:text-is("Bag")')
        page.wait_for_function(_DONE, timeout=60_000)
        assert page.is_hidden('#demo-error') and page.locator('#demo-grid canvas').count() == 8
    assert not refused and not errors, (refused, errors)
    page.close()

#!/usr/bin/env python
"""Build the docs site, and serve it locally.

    python scripts/site.py build [--out _docs] [--no-quarto]
    python scripts/site.py serve [--port 8000] [--no-build] [--no-quarto]

With Quarto on PATH, `build` runs `nbdev_docs`: the real site. Without it (or with `--no-quarto`) it builds a site
that reads like it, from the same preprocessing: nbdev's `proc_nbs` (the step `nbdev_docs` runs before Quarto)
writes `_proc/`, then nbconvert turns each processed notebook into a page (template: site_assets/page.html.j2) with

- the sidebar of nbs/sidebar.yml, linking every page by its title, the current page highlighted;
- the page's title and description from nbdev's front matter as its heading, and Quarto's file names for the pages
  (nbdev's `output-file`: 00_data.ipynb is data.html), so that links between pages work as on the real site;
- Quarto's cell directives applied and hidden (`#| echo: false`, `output: false`, `include: false` ...), no prompts;
- Quarto's markdown extensions that show_doc writes (`[source](url){target="_blank" ...}`) turned into HTML;
- math typeset by MathJax, installed from npm (package.json) and served by the site itself: no page loads anything
  from another host.

Both ways it adds the demo page, demo.html: the model generating images in the reader's browser (nbs/10_browser.ipynb).
Its scripts, styles and starting sketches are nbs/demo/; its model files are exported from the shipped weights at build
time (fmsd_nb.browser, which needs the dev dependencies onnx and onnxruntime) into demo/model/; onnxruntime-web, pinned
in package.json, runs them.

`serve` builds the site, then serves it on http://127.0.0.1:PORT. tests/test_docs.py builds it with `build(...,
use_quarto=False)` and opens every page in a browser."""
import argparse, functools, html, http.server, json, os, posixpath, re, shutil, subprocess, sys
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NBS, PROC, ASSETS = ROOT/'nbs', ROOT/'_proc', Path(__file__).resolve().parent/'site_assets'
DOCS = ROOT/'_docs'
# MathJax 3 in one self-contained file: TeX input, SVG output (no font files) and every TeX extension built in, so that
# it never fetches a component or a font from anywhere
MATHJAX_SRC, MATHJAX_DST = 'node_modules/mathjax/es5/tex-svg-full.js', 'site_libs/mathjax/tex-svg-full.js'
# the demo page: its scripts, styles and starting sketches (taught in nbs/10_browser.ipynb), and onnxruntime-web's WebAssembly build (the
# ES module, the loader it imports, the binary) from npm, served by the site itself
DEMO_PAGE, DEMO_SRC = 'demo.html', NBS/'demo'
ORT_SRC, ORT_DST = 'node_modules/onnxruntime-web', 'site_libs/onnxruntime-web'
ORT_FILES = ('dist/ort.wasm.min.mjs', 'dist/ort-wasm-simd-threaded.mjs', 'dist/ort-wasm-simd-threaded.wasm')


# ------------------------------------------------------------------------------------------------ the notebooks

@dataclass
class Page:
    "One notebook's page"
    rel: str          # the notebook, relative to nbs/ (posix): '00_data.ipynb'
    html: str         # the page, relative to the site folder: 'data.html' (nbdev's `output-file`, as Quarto names it)
    title: str
    description: str = ''


def notebooks() -> list:
    "The notebooks in nbs/ that nbdev turns into pages (as nbdev's nbglob: no file or folder starting with _ or .)"
    return sorted(p for p in NBS.rglob('*.ipynb') if not any(s.startswith(('_', '.')) for s in p.relative_to(NBS).parts))


def front_matter(nb: dict) -> dict:
    "The YAML front matter nbdev's preprocessing puts in a processed notebook's first cell ({} if none)"
    c = nb['cells'][0] if nb.get('cells') else None
    src = ''.join(c['source']) if c else ''
    m = re.match(r'\s*---[ \t]*\n(.*?)\n---[ \t]*(\n|$)', src, flags=re.S) if c and c['cell_type'] == 'raw' else None
    return (yaml.safe_load(m.group(1)) or {}) if m else {}


def pages() -> list:
    "A `Page` for each notebook in nbs/, read from its processed copy in _proc/ (run `process_notebooks` first)"
    res = []
    for nb_path in notebooks():
        rel = nb_path.relative_to(NBS).as_posix()
        fm = front_matter(json.loads((PROC/rel).read_text(encoding='utf-8')))
        out = fm.get('output-file') or (Path(rel).stem + '.html')
        res.append(Page(rel, posixpath.join(posixpath.dirname(rel), out), str(fm.get('title') or Path(rel).stem),
                        str(fm.get('description') or '').strip()))
    return res


def process_notebooks():
    "nbdev's own preprocessing of nbs/ into _proc/: front matter, show_doc cells run, exported and hidden cells removed"
    # `nbdev_proc_nbs` is this plus `_ensure_quarto`, which, without Quarto, tries `sudo` to install it and then runs
    # `pip install -e .[dev]` with whatever pip is on PATH: call nbdev's step itself, in a process of its own
    # (it starts worker processes, and runs the notebooks' exported code). This checkout's package comes first on the
    # path, so that show_doc and nbdev's links to symbols (its _modidx.py) are this checkout's, whatever is installed.
    subprocess.run([sys.executable, '-c', 'from nbdev.serve import proc_nbs; proc_nbs()'], cwd=ROOT, env=_env(), check=True)


def _env() -> dict:
    "The environment for a Python process that imports this checkout's package, whatever is installed"
    return {**os.environ, 'PYTHONPATH': os.pathsep.join(filter(None, [str(ROOT), os.environ.get('PYTHONPATH')]))}


# ------------------------------------------------------------------------------------------------ the sidebar

def sidebar_entries() -> list:
    "`website.sidebar.contents` of nbs/sidebar.yml (Quarto's format)"
    f = NBS/'sidebar.yml'
    sb = ((yaml.safe_load(f.read_text()) or {}).get('website') or {}).get('sidebar') if f.exists() else None
    if isinstance(sb, list): sb = sb[0] if sb else None  # several sidebars: the first
    return (sb or {}).get('contents') or []


def _norm(href: str) -> str: return posixpath.normpath(href.strip().lstrip('/')).removeprefix('./')


def sidebar_files(entries=None) -> list:
    "Every file that the sidebar lists, relative to nbs/, in order"
    res = []
    for e in sidebar_entries() if entries is None else entries:
        if isinstance(e, str): res.append(_norm(e))
        elif isinstance(e, dict):
            if e.get('href') or e.get('file'): res.append(_norm(e.get('href') or e.get('file')))
            if isinstance(e.get('contents'), list): res += sidebar_files(e['contents'])
    return res


def sidebar_html(entries: list, by_rel: dict, current: Page, root: str) -> str:
    "The sidebar's nested list; entries: file names, or dicts with `section`/`text`, `href`, `contents`"
    items = []
    for e in entries:
        e = {'href': e} if isinstance(e, str) else (e if isinstance(e, dict) else {})
        href, sub = e.get('href') or e.get('file'), e.get('contents')
        page = by_rel.get(_norm(href)) if href else None
        text = html.escape(str(e.get('section') or e.get('text') or (page.title if page else href or '')))
        if page:
            active = ' class="active" aria-current="page"' if page is current else ''
            head = f'<a href="{html.escape(root + page.html)}"{active}>{text}</a>'
        elif href and re.match(r'https?://', href): head = f'<a href="{html.escape(href)}">{text}</a>'
        elif href:
            print(f'site.py: nbs/sidebar.yml lists {href}, which is no notebook in nbs/', file=sys.stderr)
            head = f'<span class="sidebar-missing">{text}</span>'
        else: head = f'<span class="sidebar-section">{text}</span>'
        items.append(f'<li>{head}{sidebar_html(sub, by_rel, current, root) if isinstance(sub, list) else ""}</li>')
    return '<ul>' + ''.join(items) + '</ul>'


# ------------------------------------------------------------------------------------------------ the cells

_directive = re.compile(r'^\s*#\|\s?(.*)$')
_false = {'false', 'no', '0', 'off'}


def cell_directives(src: str) -> tuple:
    "A code cell's `#|` directives, as {name: value or None}, and its code without them"
    opts, code = {}, []
    for line in src.splitlines():
        m = _directive.match(line)
        if not m: code.append(line); continue
        name, colon, value = m.group(1).partition(':')
        name = name.strip() if colon else (m.group(1).split() or [''])[0]  # `#| echo: false`, or nbdev's `#| export`
        if name: opts[name.lower()] = value.strip().strip('"\'') if colon else None
    return opts, '\n'.join(code).strip('\n')


def apply_directives(nb):
    "Do what Quarto does with each code cell's directives, then drop the `#|` lines from the code shown"
    keep = []
    for cell in nb.cells:
        if cell.cell_type != 'code': keep.append(cell); continue
        opts, cell.source = cell_directives(cell.source)
        cell.outputs = [o for o in cell.outputs if o.get('data', True)]  # a result with nothing to show (`data: {}`)
        is_false = lambda k: str(opts.get(k)).lower() in _false
        if 'hide' in opts or is_false('include'): continue             # neither the code nor its output
        if is_false('output'): cell.outputs = []
        site = cell.metadata.setdefault('site', {})
        if str(opts.get('output')).lower() == 'asis': site['asis'] = True  # markdown output as part of the page
        if opts.get('code-fold') and not opts['code-fold'].lower() in _false:
            site['code_fold'], site['code_summary'] = opts['code-fold'].lower(), opts.get('code-summary') or 'Code'
        if is_false('echo') or not cell.source.strip():
            if not cell.outputs: continue
            cell.metadata['transient'] = {'remove_source': True}     # the template then shows the outputs only
        keep.append(cell)
    nb.cells = keep


_widget = 'application/vnd.jupyter.widget-view+json'


def widget_notes(nb):
    "A widget output, whose state a static page does not have, as a note instead of its text (`VBox(children=...`)"
    nb.metadata.pop('widgets', None)  # (its scripts would come from a CDN)
    for cell in nb.cells:
        for o in cell.get('outputs', []):
            if _widget in o.get('data', {}):
                o.data = {'text/html': '<div class="widget-note">An interactive Jupyter widget: it shows when the notebook runs.</div>'}


def _attrs(spec: str) -> str:
    "Pandoc attributes `#id .class key=value` as HTML attributes"
    ids, classes, kv = [], [], []
    for tok in re.findall(r'#[^\s}]+|\.[^\s}]+|[\w-]+=(?:"[^"]*"|\'[^\']*\'|[^\s}]+)', spec):
        if tok[0] == '#': ids.append(tok[1:])
        elif tok[0] == '.': classes.append(tok[1:])
        else:
            k, v = tok.split('=', 1)
            kv.append(f' {k}="{html.escape(v.strip(chr(34) + chr(39)))}"')
    return (f' id="{html.escape(ids[0])}"' if ids else '') + (f' class="{html.escape(" ".join(classes))}"' if classes else '') + ''.join(kv)


def _attributed_link(m) -> str:
    bang, text, url, title, spec = m.groups()
    t = f' title="{html.escape(title)}"' if title else ''
    if bang: return f'<img src="{html.escape(url)}" alt="{html.escape(text)}"{t}{_attrs(spec)}>'
    return f'<a href="{html.escape(url)}"{t}{_attrs(spec)}>{text}</a>'


_fence = re.compile(r'^ {0,3}(`{3,}|~{3,}).*?(?:^ {0,3}\1[ \t]*$|\Z)', flags=re.M | re.S)
_prose_rules = [  # Quarto (pandoc) markdown that CommonMark shows as text
    (re.compile(r'(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+"([^"]*)")?\)\{([^}\n]*)\}'), _attributed_link),
    (re.compile(r'^(#{1,6}[ \t].*?)[ \t]+\{[^}\n]*\}[ \t]*$', flags=re.M), r'\1'),         # heading attributes
    (re.compile(r'^:::+[ \t]*\{([^}\n]*)\}[ \t]*$', flags=re.M), lambda m: f'\n<div{_attrs(m.group(1))}>\n'),
    (re.compile(r'^:::+[ \t]*([\w-]+)[ \t]*$', flags=re.M), lambda m: f'\n<div class="{m.group(1)}">\n'),
    (re.compile(r'^:::+[ \t]*$', flags=re.M), '\n</div>\n'),                                  # fenced divs
    (re.compile(r'(?<![\]!\\])\[([^\[\]\n]+)\]\{([^}\n]*)\}'), lambda m: f'<span{_attrs(m.group(2))}>{m.group(1)}</span>'),
]
_md_url = re.compile(r'(\]\(\s*<?)([^)\s>]+)|(\shref=")([^"]+)')


def quarto_markdown(md: str, local_url) -> str:
    "Markdown as Quarto reads it, for nbconvert: links to notebooks and to the site made local, pandoc attributes as HTML"
    def prose(s):
        s = _md_url.sub(lambda m: (m.group(1) or m.group(3)) + local_url(m.group(2) or m.group(4)), s)
        for pat, rep in _prose_rules: s = pat.sub(rep, s)
        return s
    res, pos = [], 0
    for m in _fence.finditer(md):  # code blocks stay as they are
        res += [prose(md[pos:m.start()]), m.group(0)]
        pos = m.end()
    return ''.join(res + [prose(md[pos:])])


def url_mapper(page: Page, by_rel: dict, root: str, site_url: str):
    "A function that maps a link in `page` to the local site: `NN_name.ipynb` and the real site's URLs to local pages"
    def local_url(url):
        if site_url and url.startswith(site_url + '/'): return root + url[len(site_url) + 1:]
        path, hash_, frag = url.partition('#')
        if re.match(r'[a-z][\w+.-]*:', path) or not path.endswith('.ipynb'): return url
        target = by_rel.get(posixpath.normpath(posixpath.join(posixpath.dirname(page.rel), path)))
        return root + target.html + hash_ + frag if target else url
    return local_url


def convert_markdown(nb, local_url):
    "Quarto's markdown, in markdown cells and in markdown outputs (show_doc's), as nbconvert's markdown"
    for cell in nb.cells:
        if cell.cell_type == 'markdown': cell.source = quarto_markdown(cell.source, local_url)
        for o in cell.get('outputs', []):
            md = o.get('data', {}).get('text/markdown')
            if md is not None: o.data['text/markdown'] = quarto_markdown(''.join(md), local_url)


def _slug(ident: str) -> str:
    "Pandoc's identifier for a heading, which nbdev's links to a symbol (`page.html#name`) rely on"
    s = re.sub(r'[^\w\s.-]', '', html.unescape(ident).lower()).replace(' ', '-')
    return re.sub(r'^[^a-z]+', '', s) or ident


def pandoc_ids(page_html: str) -> str:
    "Heading ids as Quarto makes them (nbconvert keeps the case, Quarto lowercases)"
    page_html = re.sub(r'(<h[1-6][^>]*\sid=")([^"]+)"', lambda m: m.group(1) + _slug(m.group(2)) + '"', page_html)
    return re.sub(r'(<a class="anchor-link" href="#)([^"]+)"', lambda m: m.group(1) + _slug(m.group(2)) + '"', page_html)


# ------------------------------------------------------------------------------------------------ the site

def _bin(name: str) -> str:
    "A script installed beside this Python (the venv's), else the one on PATH"
    p = Path(sys.executable).parent/name
    return str(p) if p.exists() else name


def ensure_npm_deps():
    "Install the npm packages of package.json (package-lock.json's versions) unless node_modules has them"
    if all((ROOT/f).exists() for f in (MATHJAX_SRC, *(f'{ORT_SRC}/{f}' for f in ORT_FILES))): return
    npm = shutil.which('npm')
    if not npm: sys.exit('site.py: npm not found: install Node.js and npm (the site serves MathJax and onnxruntime-web, npm packages)')
    cmd = [npm, 'ci' if (ROOT/'package-lock.json').exists() else 'install', '--no-audit', '--no-fund', '--ignore-scripts']
    subprocess.run(cmd, cwd=ROOT, check=True)


def exporter():
    "nbconvert's HTML exporter with the page template, and without In/Out prompts"
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    return HTMLExporter(template_name='lab', template_file='site_page.html.j2', exclude_input_prompt=True,
                        exclude_output_prompt=True, anchor_link_text='#',
                        extra_loaders=[DictLoader({'site_page.html.j2': (ASSETS/'page.html.j2').read_text()})])


def _reset(out: Path):
    "Empty the site folder, refusing any folder that looks like more than a built site"
    out = out.resolve()
    if out in (ROOT, *ROOT.parents) or any((out/n).exists() for n in ('.git', 'settings.ini', 'nbs', 'scripts')):
        sys.exit(f'site.py: {out} does not look like a site folder: not emptying it')
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)


def site_css() -> str:
    "The site's style sheet: site_assets/site.css and Pygments' colours for the code"
    from pygments.formatters import HtmlFormatter
    return (ASSETS/'site.css').read_text() + '\n/* Pygments */\n' + HtmlFormatter(style='friendly').get_style_defs('.highlight')


def copy_static(out: Path):
    "The site's own files: styles, MathJax, and nbs/images/ and nbs/styles.css, as Quarto copies them"
    (out/'site_libs/mathjax').mkdir(parents=True)
    shutil.copy(ROOT/MATHJAX_SRC, out/MATHJAX_DST)
    shutil.copy(ROOT/'node_modules/mathjax/LICENSE', out/'site_libs/mathjax/LICENSE')
    (out/'site_libs/site.css').write_text(site_css())
    if (NBS/'images').is_dir(): shutil.copytree(NBS/'images', out/'images')
    if (NBS/'styles.css').exists(): shutil.copy(NBS/'styles.css', out/'styles.css')
    else: (out/'styles.css').write_text('')


def site_settings() -> dict:
    "The site's title, URL and repository, from nbs/nbdev.yml (which nbdev writes from settings.ini)"
    f = NBS/'nbdev.yml'
    web = ((yaml.safe_load(f.read_text()) or {}).get('website') or {}) if f.exists() else {}
    return dict(site_title=str(web.get('title') or ROOT.name), site_url=str(web.get('site-url') or '').rstrip('/'),
                repo_url=str(web.get('repo-url') or ''))


def render_page(page: Page, all_pages: list, exp, settings: dict) -> str:
    "One page's HTML, from the processed notebook in _proc/"
    from nbformat.v4 import reads  # as a NotebookNode with joined sources, not validated (nbdev adds keys)
    nb = reads((PROC/page.rel).read_text(encoding='utf-8'))
    if front_matter(nb): nb.cells = nb.cells[1:]
    by_rel = {p.rel: p for p in all_pages}
    root = '../' * page.html.count('/')
    apply_directives(nb)
    widget_notes(nb)
    convert_markdown(nb, url_mapper(page, by_rel, root, settings['site_url']))
    site = dict(settings, title=page.title, description=page.description, root=root, mathjax=MATHJAX_DST,
                sidebar=sidebar_html(sidebar_entries(), by_rel, page, root))
    body, _ = exp.from_notebook_node(nb, resources={'site': site, 'metadata': {'name': Path(page.rel).stem}})
    return pandoc_ids(body)


# ------------------------------------------------------------------------------------------------ the demo page

def export_demo_model(folder: Path) -> dict:
    "The demo's model files, exported from the shipped weights by fmsd_nb.browser into `folder`: file name -> bytes"
    code = 'import json, sys; from fmsd_nb.browser import export_browser_model; print(json.dumps(export_browser_model(sys.argv[1])))'
    r = subprocess.run([sys.executable, '-c', code, str(folder)], cwd=ROOT, env=_env(), capture_output=True, text=True)
    if r.returncode:
        sys.exit(f'site.py: exporting the demo page\'s model failed (it needs onnx and onnxruntime: pip install -e ".[dev]"):\n'
                 f'{r.stderr.strip()[-3000:]}')
    return json.loads(r.stdout.strip().splitlines()[-1])


_SAMPLERS = {'dpmpp': 'DPM-Solver++(2M)', 'ddim': 'DDIM', 'ddpm': 'DDPM'}
_SPACINGS = {'logsnr': 'evenly spaced in log-SNR', 'trailing': 'evenly spaced in t'}


def describe_sampling(config: dict, name: str = None) -> str:
    "A network's own sampler settings of model.json in words (default: the default network's)"
    net = config['networks'][name or config['default']]
    s, gi = net['sampling'], net['sampling'].get('guidance_interval')
    if s['sampler'] == 'student':
        return (f"the distilled student in {s['steps']} passes (of the timesteps {', '.join(map(str, net['timesteps']))}, "
                f"deterministic DDIM between them), its guidance built in")
    guidance = f"classifier-free guidance {s['guidance']:g}" + (f' from t = {gi[0]} to {gi[1]}' if gi else '')
    return (f"{_SAMPLERS.get(s['sampler'], s['sampler'])} in {s['steps']} steps, timesteps {_SPACINGS.get(s['spacing'], s['spacing'])}, "
            f"{guidance}, on a UNet that predicts {net['prediction']}")


def ready_files(config: dict) -> list:
    "The model files the demo page loads before it is usable: model.json, the default network and its tokens, the decoder"
    net = config['networks'][config['default']]
    return ['model.json', net['onnx'], net['tokens'], config['vae']['decoder']]


_ROLES = {'teacher': 'the UNet', 'student': 'its distilled student'}


def build_demo(out: Path, all_pages: list, settings: dict):
    "demo.html, its scripts (nbs/demo/), onnxruntime-web (npm) and the model exported from the shipped weights, in `out`"
    from jinja2 import Template
    (out/'demo').mkdir(parents=True, exist_ok=True)
    for f in DEMO_SRC.iterdir():
        if f.suffix in ('.js', '.css', '.json'): shutil.copy(f, out/'demo'/f.name)
    sizes = export_demo_model(out/'demo'/'model')
    (out/ORT_DST).mkdir(parents=True, exist_ok=True)
    for f in ORT_FILES: shutil.copy(ROOT/ORT_SRC/f, out/ORT_DST/Path(f).name)
    if not (out/'site_libs/site.css').exists(): (out/'site_libs/site.css').write_text(site_css())  # (a Quarto build)
    config = json.loads((out/'demo/model/model.json').read_text())
    mb = lambda names: f'{sum(sizes[n] for n in names)/1e6:.1f}'
    networks = [f"{_ROLES.get(k, k)} ({mb([n['onnx'], n['tokens']])} MB with its class tokens)" for k, n in config['networks'].items()]
    networks += [f"the VAE's decoder ({mb([config['vae']['decoder']])} MB) and encoder ({mb([config['vae']['encoder']])} MB)"]
    by_rel = {p.rel: p for p in all_pages}
    page = Template((ASSETS/'demo.html.j2').read_text()).render(
        settings, root='', title='Generate in your browser', sidebar=sidebar_html(sidebar_entries(), by_rel, None, ''),
        description='Fashion-MNIST images from the latent diffusion model, computed on this page: no server, nothing to install.',
        classes=config['classes'], sampling=describe_sampling(config), model_mb=mb(sizes), ready_mb=mb(ready_files(config)),
        networks=', '.join(networks), ort_version=json.loads((ROOT/ORT_SRC/'package.json').read_text())['version'],
        chapter=by_rel.get('10_browser.ipynb'))
    (out/DEMO_PAGE).write_text(page, encoding='utf-8')
    print(f'site.py: {DEMO_PAGE}, model files {sizes} ({sum(sizes.values())/1e6:.2f} MB)')


# ------------------------------------------------------------------------------------------------ building the site

def build(out=DOCS, use_quarto=None) -> Path:
    "Build the site into `out` and return its folder: with Quarto (`nbdev_docs`, into settings.ini's doc_path) if it is installed"
    if use_quarto is None: use_quarto = bool(shutil.which('quarto'))
    if use_quarto:
        subprocess.run([_bin('nbdev_docs')], cwd=ROOT, check=True)
        ensure_npm_deps()
        build_demo(DOCS, pages(), site_settings())
        return DOCS
    out = Path(out)
    ensure_npm_deps()
    process_notebooks()
    _reset(out)
    copy_static(out)
    all_pages, exp, settings = pages(), exporter(), site_settings()
    listed = set(sidebar_files())
    for p in all_pages:
        if p.rel not in listed: print(f'site.py: {p.rel} is not in nbs/sidebar.yml: its page has no link', file=sys.stderr)
        (out/p.html).parent.mkdir(parents=True, exist_ok=True)
        (out/p.html).write_text(render_page(p, all_pages, exp, settings), encoding='utf-8')
    build_demo(out, all_pages, settings)
    print(f'site.py: {len(all_pages)} pages and {DEMO_PAGE} in {out}')
    return out


# ------------------------------------------------------------------------------------------------ serving

class SiteHandler(http.server.SimpleHTTPRequestHandler):
    "Serves the site folder uncached, with the types browsers insist on for WebAssembly and JavaScript modules"
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, '.wasm': 'application/wasm',
                      '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json',
                      '.onnx': 'application/octet-stream', '.svg': 'image/svg+xml', '.css': 'text/css'}

    def end_headers(self):
        self.send_header('Cache-Control', 'no-store')
        super().end_headers()


def serve(folder: Path, port: int = 8000):
    "Serve `folder` on http://127.0.0.1:port until Ctrl-C"
    try: httpd = http.server.ThreadingHTTPServer(('127.0.0.1', port), functools.partial(SiteHandler, directory=str(folder)))
    except OSError as e: sys.exit(f'site.py: cannot serve on port {port} ({e.strerror}): try another --port')
    print(f'Serving {folder} at http://127.0.0.1:{httpd.server_address[1]}/ (Ctrl-C stops)', flush=True)
    with httpd:
        try: httpd.serve_forever()
        except KeyboardInterrupt: print()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    b = sub.add_parser('build', help='build the site')
    s = sub.add_parser('serve', help='build the site, then serve it on 127.0.0.1')
    for p in (b, s):
        p.add_argument('--out', type=Path, default=DOCS, help='the site folder (default: _docs; Quarto uses settings.ini\'s doc_path)')
        p.add_argument('--no-quarto', dest='quarto', action='store_false', default=None,
                       help='build with nbconvert even when Quarto is installed (the site tests/test_docs.py checks)')
    s.add_argument('--port', type=int, default=8000)
    s.add_argument('--no-build', dest='build', action='store_false', help='serve the folder as it is')
    args = ap.parse_args(argv)
    folder = build(args.out, args.quarto) if args.cmd == 'build' or args.build else args.out
    if args.cmd == 'serve': serve(folder, args.port)


if __name__ == '__main__': main()

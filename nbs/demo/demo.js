// The demo page (demo.html): a sampler to pick, a seed, and three things to do: eight images of a class, eight
// between two classes, or eight finished from a sketch; under the teacher's, the prediction of the clean image at
// each step. The networks, exported to ONNX by fmsd_nb.browser, run in onnxruntime-web's WebAssembly backend,
// served by the site itself; the sampler is sampler.js. The tests drive the page through window.fmsdDemo.
import * as sampler from './sampler.js';

const MODEL_DIR = new URL('model/', import.meta.url);                      // model.json and the files it names
const EXAMPLES = new URL('examples.json', import.meta.url);                // test images to start a sketch from
const ORT_DIR = new URL('../site_libs/onnxruntime-web/', import.meta.url);  // onnxruntime-web, from npm
const N_IMAGES = 8, MAX_SEED = 2 ** 32 - 1, SIDE = 28;
const $ = id => document.getElementById(id);

// ---------------------------------------------------------------------------------------------- loading

async function fetchModelFile(name) {
  let r;
  try { r = await fetch(new URL(name, MODEL_DIR)); }
  catch (e) { throw new Error(`Could not download the model file ${name} (${e.message}).`); }
  if (!r.ok) throw new Error(`Could not download the model file ${name}: HTTP ${r.status} ${r.statusText}.`);
  return r;
}

async function loadSession(ort, name) {
  const bytes = new Uint8Array(await (await fetchModelFile(name)).arrayBuffer());
  try { return await ort.InferenceSession.create(bytes, {executionProviders: ['wasm']}); }
  catch (e) { throw new Error(`The model file ${name} could not be loaded: ${e.message ?? e}`); }
}

/** A loader that runs once and keeps its result; if it fails, the next call tries again. */
function once(load) {
  let p = null;
  return () => (p ??= load().catch(e => { p = null; throw e; }));
}

const config = once(async () => {
  try { return await (await fetchModelFile('model.json')).json(); }
  catch (e) { throw e instanceof SyntaxError ? new Error(`The model file model.json is not valid JSON (${e.message}).`) : e; }
});

const runtime = once(async () => {
  let ort;
  try { ort = await import(new URL('ort.wasm.min.mjs', ORT_DIR).href); }
  catch (e) { throw new Error(`Could not load onnxruntime-web (${e.message}).`); }
  ort.env.wasm.wasmPaths = ORT_DIR.href;
  ort.env.wasm.numThreads = 1;  // threads need cross-origin isolation, which a static site (GitHub Pages) cannot turn on
  return ort;
});

/** A network's class tokens: (null_label+1) rows of n_tokens*dim float32 numbers. */
async function loadTokens(name, rows, width) {
  const bytes = await (await fetchModelFile(name)).arrayBuffer();
  if (bytes.byteLength !== 4 * rows * width)
    throw new Error(`The model file ${name} could not be loaded: it has ${bytes.byteLength} bytes, not ${4 * rows * width}.`);
  return new Float32Array(bytes);
}

const loaders = new Map();
const loadOnce = (key, load) => { if (!loaders.has(key)) loaders.set(key, once(load)); return loaders.get(key)(); };

/** A network of model.json ('student', 'teacher'): its session and class tokens, loaded the first time it is asked for. */
async function network(name) {
  const [ort, cfg] = await Promise.all([runtime(), config()]), rec = cfg.networks[name];
  if (!rec) throw new Error(`model.json has no network '${name}'.`);
  return loadOnce(name, async () => {
    const width = rec.context_shape[0] * rec.context_shape[1];
    const [session, tokens] = await Promise.all([loadSession(ort, rec.onnx), loadTokens(rec.tokens, cfg.null_label + 1, width)]);
    return {...rec, name, session, tokens, width};
  });
}

/** The VAE's 'decoder' or 'encoder' session (the encoder loads when a sketch is first finished). */
async function vae(part) {
  const [ort, cfg] = await Promise.all([runtime(), config()]);
  return loadOnce(part, () => loadSession(ort, cfg.vae[part]));
}

/** The page is usable once model.json, onnxruntime-web, the default network and the decoder are in. */
async function ready() {
  const cfg = await config();
  await Promise.all([network(cfg.default), vae('decoder')]);
  return cfg;
}

// ---------------------------------------------------------------------------------------------- the samplers

/** The samplers a visitor can pick, from model.json: the student in 1 to all of its passes, the teacher's own steps. */
function choices(cfg) {
  const list = [];
  for (const [name, rec] of Object.entries(cfg.networks)) {
    const student = rec.sampling.sampler === 'student';
    const steps = student ? rec.timesteps.map((_, i) => i + 1) : [rec.sampling.steps];
    for (const k of steps) list.push({id: student ? `${name}-${k}` : name, network: name, steps: k, student,
      text: student ? `Student, ${k} pass${k > 1 ? 'es' : ''}` : `Teacher, ${k} steps`,
      isDefault: name === cfg.default && k === rec.sampling.steps});
  }
  return list.sort((a, b) => b.student - a.student);  // the student's first: fewer passes, faster
}

function choiceOf(cfg, id) {
  const all = choices(cfg), c = id == null ? all.find(c => c.isDefault) : all.find(c => c.id === id);
  if (!c) throw new Error(`There is no sampler '${id}': the samplers are ${all.map(c => c.id).join(', ')}.`);
  return c;
}

// ---------------------------------------------------------------------------------------------- the networks

const int64 = (ort, a) => new ort.Tensor('int64', BigInt64Array.from(a, BigInt), [a.length]);

/** A network as sampler.js calls it, model(x, t, labels) -> Float32Array: `context` turns the labels into tokens;
 *  `count.rows` adds up the batch rows it ran (a guided step runs each image twice). */
function unetModel(ort, cfg, net, context, count) {
  const [C, H, W] = cfg.latent_shape, [K, D] = net.context_shape;
  return async (x, t, labels) => {
    const B = labels.length, ctx = new ort.Tensor('float32', context(labels), [B, K, D]);
    count.rows += B;
    const out = await net.session.run({x: new ort.Tensor('float32', x, [B, C, H, W]), t: int64(ort, t), ctx});
    return out[net.session.outputNames[0]].data;
  };
}

/** The decoder: n images in [-1, 1] (n*28*28 numbers) from n latents. */
async function decode(z, n) {
  const [ort, cfg, decoder] = await Promise.all([runtime(), config(), vae('decoder')]);
  const out = await decoder.run({z: new ort.Tensor('float32', z, [n, ...cfg.latent_shape])});
  return out[decoder.outputNames[0]].data;
}

/** The encoder: the scaled mean latent of one image (28*28 grey levels 0..255), as `to_latent` makes it. */
async function encode(pixels) {
  const [ort, encoder] = await Promise.all([runtime(), vae('encoder')]);
  const x = Float32Array.from(pixels, v => v / 127.5 - 1);
  const out = await encoder.run({images: new ort.Tensor('float32', x, [1, 1, SIDE, SIDE])});
  return out[encoder.outputNames[0]].data;
}

const split = (a, n) => Array.from({length: n}, (_, i) => a.subarray(i * a.length / n, (i + 1) * a.length / n));

// ---------------------------------------------------------------------------------------------- generating

let last = null, selected = 0;

/** Eight images from `noise` (8*4*7*7 numbers) or else from `seed`, with the sampler `sampler` (default: the
 *  model's): of class `label`; or between classes blend.a and blend.b at weight blend.w, as class_mix blends them;
 *  or, with `init` (28*28 grey levels), img2img at `strength` into class `label`. Drawn in the grid. */
async function generate({label, seed = 0, noise = null, sampler: id = null, blend = null, init = null, strength = 1,
                         t0 = performance.now()}) {
  const cfg = await ready(), ort = await runtime(), choice = choiceOf(cfg, id), n = cfg.classes.length;
  const known = l => Number.isInteger(l) && l >= 0 && l < n;
  if (blend) {
    if (!known(blend.a) || !known(blend.b)) throw new Error(`Blend two classes from 0 to ${n - 1}, not ${blend.a} and ${blend.b}.`);
    if (!(blend.w >= 0 && blend.w <= 1)) throw new Error(`The blend weight must be from 0 to 1, not ${blend.w}.`);
    label = blend.a;  // as interpolate_classes: the labels are class a's, the context the blend
  }
  if (!known(label)) throw new Error(`There is no class ${label}: the classes are 0 to ${n - 1}.`);
  if (init && init.length !== SIDE * SIDE) throw new Error(`A sketch holds ${SIDE * SIDE} grey levels, not ${init.length}.`);
  const size = N_IMAGES * cfg.latent_shape.reduce((a, b) => a * b);
  const given = noise != null;
  noise = given ? Float32Array.from(noise) : sampler.randn(size, seed);
  if (noise.length !== size) throw new Error(`The noise must hold ${size} numbers, not ${noise.length}.`);

  const net = await network(choice.network), z1 = init ? await encode(init) : null;  // (files load the first time)
  const t1 = performance.now(), sched = new sampler.NoiseSchedule(cfg.diffusion.schedule, cfg.diffusion.n_steps);
  const settings = {...net.sampling, steps: choice.steps}, labels = Array(N_IMAGES).fill(label);
  if (choice.student) checkStudent(net, settings, sched);
  const context = blend ? sampler.mixedContext(net.tokens, net.width, blend.a, blend.b, Array(N_IMAGES).fill(blend.w), cfg.null_label)
                        : sampler.classContext(net.tokens, net.width);
  const xInit = z1 && Float32Array.from({length: size}, (_, i) => z1[i % z1.length]);  // one sketch for all eight
  const x0s = [], ts = [], count = {rows: 0};
  const z = await sampler.sample({model: unetModel(ort, cfg, net, context, count), sched, labels, settings, prediction: net.prediction,
                                  noise, nullLabel: cfg.null_label, xInit, strength,
                                  callback: (i, t, x, x0) => { x0s.push(x0); ts.push(t); showStatus(`Step ${i + 1}…`); }});
  const images = split(sampler.toUint8(await decode(z, N_IMAGES)), N_IMAGES), t2 = performance.now();
  const strip = choice.network === 'teacher' ? await denoisingStrip(x0s, ts) : null;
  last = {label, seed, sampler: choice.id, blend, sketch: !!init, strength: init ? strength : 1, steps: ts, noise: Array.from(noise),
          pixels: images.map(p => Array.from(p)), ms: t2 - t0, computeMs: t2 - t1, strip,
          passes: count.rows / N_IMAGES};  // network passes per image
  draw($('demo-grid'), images, i => `${describe(cfg, last)} ${i + 1}`);
  selected = Math.min(selected, N_IMAGES - 1);
  showStrip(); report(cfg, choice, last, given ? 'from the noise given' : `seed ${seed}`);
  return last;
}

/** What was made, how, and how long it took, in the status line; the time beside the sampler too. */
function report(cfg, choice, r, source) {
  const secs = (r.computeMs / 1000).toFixed(2), loadSecs = (r.ms - r.computeMs) / 1000;
  const loading = loadSecs > 0.5 ? ` (and ${loadSecs.toFixed(1)} s loading files)` : '';
  const time = document.querySelector(`.demo-time[data-sampler="${choice.id}"]`);
  if (time) time.textContent = `${secs} s`;
  showStatus(`${N_IMAGES} images, ${describe(cfg, r)}: ${choice.text.toLowerCase()}, ${source}, in ${secs} s${loading}, `
             + 'computed in this browser.');
}

/** Refuse student settings whose timesteps are not the first of those it was distilled for (Pipeline._check_student). */
function checkStudent(net, s, sched) {
  const ts = sampler.samplingTimesteps(s.steps, sched.nSteps, s.spacing, sched);
  if (ts.join() !== net.timesteps.slice(0, ts.length).join())
    throw new Error(`The student was distilled for the timesteps ${net.timesteps}, not ${ts}.`);
}

/** Watch it denoise: each step's predicted clean latents, decoded, as strip[step][image] (28*28 grey levels). */
async function denoisingStrip(x0s, ts) {
  if (!x0s.length) return null;
  const all = new Float32Array(x0s.reduce((n, x) => n + x.length, 0));
  x0s.forEach((x, i) => all.set(x, i * x.length));
  const imgs = split(sampler.toUint8(await decode(all, x0s.length * N_IMAGES)), x0s.length * N_IMAGES);
  return ts.map((t, i) => ({t, images: imgs.slice(i * N_IMAGES, (i + 1) * N_IMAGES).map(p => Array.from(p))}));
}

/** "75% Sneaker, 25% Ankle boot": a blend of classes a and b at weight w, in words. */
const blendWords = (names, a, b, w) => `${Math.round(100 * (1 - w))}% ${names[a]}, ${Math.round(100 * w)}% ${names[b]}`;

function describe(cfg, r) {
  if (r.blend) return blendWords(cfg.classes, r.blend.a, r.blend.b, r.blend.w);
  return r.sketch ? `the sketch finished as ${cfg.classes[r.label]} at strength ${r.strength}` : cfg.classes[r.label];
}

// ---------------------------------------------------------------------------------------------- drawing

function paint(canvas, px) {
  canvas.width = canvas.height = SIDE;
  const ctx = canvas.getContext('2d'), img = ctx.createImageData(SIDE, SIDE);
  px.forEach((v, j) => img.data.set([v, v, v, 255], 4 * j));
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/** Each image (28*28 grey levels) on a canvas of its own, in `box`. */
function draw(box, images, label) {
  box.replaceChildren(...images.map((px, i) => {
    const canvas = paint(document.createElement('canvas'), px);
    canvas.setAttribute('role', 'img'); canvas.setAttribute('aria-label', label(i));
    return canvas;
  }));
}

/** The strip under the grid: the selected image's predicted clean image after each of the teacher's steps. */
function showStrip() {
  const box = $('demo-strip'), strip = last?.strip;
  box.hidden = !strip;
  if (!strip) return;
  $('demo-strip-title').textContent = `Watch it denoise: what the teacher expects image ${selected + 1} to become, at each step`;
  $('demo-strip-images').replaceChildren(...strip.map(({t, images}, i) => {
    const fig = document.createElement('figure'), cap = document.createElement('figcaption');
    fig.append(paint(document.createElement('canvas'), images[selected]), cap);
    cap.textContent = `step ${i + 1}, t = ${t}`;
    return fig;
  }));
  document.querySelectorAll('#demo-grid canvas').forEach((c, i) => c.classList.toggle('selected', i === selected));
}

// ---------------------------------------------------------------------------------------------- the sketch pad

const sketch = new Uint8ClampedArray(SIDE * SIDE);
let pen = null;

function showSketch() { paint($('demo-pad'), sketch); }

/** A soft round brush 1.5 pixels wide at (x, y), in pixels of the 28x28 image. */
function dab(x, y) {
  for (let r = Math.floor(y - 2); r <= y + 2; r++) for (let c = Math.floor(x - 2); c <= x + 2; c++) {
    if (r < 0 || c < 0 || r >= SIDE || c >= SIDE) continue;
    const d = Math.hypot(c + 0.5 - x, r + 0.5 - y);
    sketch[r * SIDE + c] = Math.max(sketch[r * SIDE + c], 255 * Math.min(1, Math.max(0, 1.75 - d)));
  }
}

function penAt(e) {
  const box = $('demo-pad').getBoundingClientRect();
  return [(e.clientX - box.left) / box.width * SIDE, (e.clientY - box.top) / box.height * SIDE];
}

function stroke(e) {
  if (!pen) return;
  const [x, y] = penAt(e), steps = Math.max(1, Math.ceil(Math.hypot(x - pen[0], y - pen[1]) * 4));
  for (let i = 1; i <= steps; i++) dab(pen[0] + (x - pen[0]) * i / steps, pen[1] + (y - pen[1]) * i / steps);
  pen = [x, y];
  showSketch();
}

function setupPad() {
  const pad = $('demo-pad');
  pad.addEventListener('pointerdown', e => {
    e.preventDefault(); pad.setPointerCapture(e.pointerId);
    pen = penAt(e); dab(...pen); showSketch();
  });
  pad.addEventListener('pointermove', stroke);
  for (const ev of ['pointerup', 'pointercancel']) pad.addEventListener(ev, () => { pen = null; });
  $('demo-clear').addEventListener('click', () => { sketch.fill(0); showSketch(); });
  showSketch();
}

async function showExamples() {
  let examples;
  try { examples = (await (await fetch(EXAMPLES)).json()).examples; }
  catch (e) { $('demo-examples').textContent = 'The test images could not be loaded.'; return; }
  const cfg = await config().catch(() => null);
  $('demo-examples').replaceChildren(...examples.map(ex => {
    const b = document.createElement('button'), name = cfg?.classes[ex.label] ?? `class ${ex.label}`;
    b.type = 'button'; b.title = `Start from test image ${ex.index} (${name})`; b.setAttribute('aria-label', b.title);
    b.append(paint(document.createElement('canvas'), ex.pixels));
    b.addEventListener('click', () => { sketch.set(ex.pixels); showSketch(); });
    return b;
  }));
}

// ---------------------------------------------------------------------------------------------- the page

function showStatus(msg) { $('demo-status').textContent = msg; }
function showError(msg) { const e = $('demo-error'); e.textContent = msg; e.hidden = !msg; if (msg) showStatus(''); }

/** The seed field's text as an integer 0..2^32-1, or an Error saying what is wrong. */
function parseSeed(text) {
  const s = text.trim();
  if (!/^\d+$/.test(s) || Number(s) > MAX_SEED) return new Error(`The seed must be a whole number from 0 to ${MAX_SEED}, not “${s}”.`);
  return Number(s);
}

const pickedSampler = () => document.querySelector('input[name="demo-sampler"]:checked')?.value ?? null;
const actions = () => document.querySelectorAll('#demo-classes button, #demo-finish');

let busy = false, pending = null;

/** Run one request at a time: while one runs, the latest of those asked for waits (the blend slider asks often). */
async function run(request) {
  if (busy) { pending = request; return; }
  busy = true; actions().forEach(b => { b.disabled = true; });
  try {
    const args = request(), seed = parseSeed($('demo-seed').value);
    if (args instanceof Error) throw args;
    if (seed instanceof Error) throw seed;
    showError(''); showStatus('Generating…');
    await generate({seed, sampler: pickedSampler(), ...args});
    onReady(await config());  // (if the first load failed and this one worked)
  } catch (e) { showError(e.message ?? String(e)); }
  finally {
    busy = false; actions().forEach(b => { b.disabled = false; });
    if (pending) { const next = pending; pending = null; run(next); }
  }
}

const selectedClass = id => Number($(id).value);

function blendText() {
  const names = [...$('demo-blend-a').options].map(o => o.text), w = Number($('demo-blend-w').value);
  $('demo-blend-text').textContent = blendWords(names, selectedClass('demo-blend-a'), selectedClass('demo-blend-b'), w);
}

/** The strength in words: how many of the sampler's steps it runs (as `sample` rounds strength*steps). */
function strengthText() {
  const s = Number($('demo-strength').value), c = cachedConfig && choiceOf(cachedConfig, pickedSampler());
  const k = c && Math.round(s * c.steps), of = c ? `: runs the last ${k} of ${c.steps} ${c.student ? 'passes' : 'steps'}` : '';
  $('demo-strength-text').textContent = `${s.toFixed(2)}${of}${k === 0 ? ' (the sketch comes back as it is)' : ''}`;
}

function showSamplers(cfg) {
  $('demo-samplers').append(...choices(cfg).map(c => {
    const label = document.createElement('label'), input = document.createElement('input'), time = document.createElement('span');
    input.type = 'radio'; input.name = 'demo-sampler'; input.value = c.id; input.checked = c.isDefault;
    input.addEventListener('change', () => { strengthText(); });
    time.className = 'demo-time'; time.dataset.sampler = c.id; time.textContent = '–';
    label.append(input, ` ${c.text}${c.isDefault ? ' (default)' : ''} `, time);
    return label;
  }));
}

function showTab(tab) {
  document.querySelectorAll('[role="tab"]').forEach(t => {
    const on = t === tab;
    t.setAttribute('aria-selected', on); t.tabIndex = on ? 0 : -1;
    $(t.getAttribute('aria-controls')).hidden = !on;
  });
}

function setup() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  tabs.forEach((t, i) => {
    t.addEventListener('click', () => showTab(t));
    t.addEventListener('keydown', e => {  // the arrow keys move between tabs, as in any tab list
      const step = {ArrowRight: 1, ArrowLeft: -1}[e.key];
      if (step) { const next = tabs[(i + step + tabs.length) % tabs.length]; showTab(next); next.focus(); }
    });
  });
  document.querySelectorAll('#demo-classes button').forEach(b => b.addEventListener('click', e => {
    const t0 = e.timeStamp;
    run(() => ({label: Number(b.dataset.label), t0}));
  }));
  const blend = () => run(() => ({blend: {a: selectedClass('demo-blend-a'), b: selectedClass('demo-blend-b'),
                                          w: Number($('demo-blend-w').value)}}));
  $('demo-blend-w').addEventListener('input', () => { blendText(); blend(); });
  for (const id of ['demo-blend-a', 'demo-blend-b']) $(id).addEventListener('change', () => { blendText(); blend(); });
  $('demo-blend-go').addEventListener('click', blend);
  $('demo-finish').addEventListener('click', () => run(() => sketch.some(v => v > 0)
    ? {init: Array.from(sketch), strength: Number($('demo-strength').value), label: selectedClass('demo-sketch-class')}
    : new Error('The sketch pad is empty: draw on it, or start from one of the test images.')));
  $('demo-strength').addEventListener('input', strengthText);
  $('demo-grid').addEventListener('click', e => {
    const i = [...$('demo-grid').children].indexOf(e.target);
    if (i >= 0) { selected = i; showStrip(); }
  });
  blendText(); setupPad(); showExamples();
}

let cachedConfig = null;

/** Once the page is usable: the samplers to pick from, read from model.json. */
function onReady(cfg) {
  if (cachedConfig) return;
  cachedConfig = cfg; showSamplers(cfg); strengthText();
}

setup();
const loaded = ready().then(cfg => {
  onReady(cfg); showStatus('Ready: pick a class, blend two, or finish a sketch.');
  return true;
}, e => { showError(`${e.message ?? e} Pressing a button tries again.`); return false; });

window.fmsdDemo = {ready: loaded, generate, sampler, choices: async () => choices(await config()),
                   get last() { return last; }, get sketch() { return Array.from(sketch); }};

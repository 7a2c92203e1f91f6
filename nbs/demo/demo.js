// The demo page (demo.html): a button per class, a seed, a grid of eight images. The two networks, exported to ONNX
// by fmsd_nb.browser, run in onnxruntime-web's WebAssembly backend, served by the site itself; the sampler is
// sampler.js. The tests drive the page through window.fmsdDemo.
import * as sampler from './sampler.js';

const MODEL_DIR = new URL('model/', import.meta.url);                      // model.json, unet.onnx, decoder.onnx
const ORT_DIR = new URL('../site_libs/onnxruntime-web/', import.meta.url);  // onnxruntime-web, from npm
const N_IMAGES = 8, MAX_SEED = 2 ** 32 - 1;
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

/** onnxruntime-web, model.json (classes, diffusion process, sampler settings) and the UNet and decoder sessions. */
async function load() {
  let config, ort;
  try { config = await (await fetchModelFile('model.json')).json(); }
  catch (e) { throw e instanceof SyntaxError ? new Error(`The model file model.json is not valid JSON (${e.message}).`) : e; }
  try { ort = await import(new URL('ort.wasm.min.mjs', ORT_DIR).href); }
  catch (e) { throw new Error(`Could not load onnxruntime-web (${e.message}).`); }
  ort.env.wasm.wasmPaths = ORT_DIR.href;
  ort.env.wasm.numThreads = 1;  // threads need cross-origin isolation, which a static site (GitHub Pages) cannot turn on
  const unet = await loadSession(ort, config.files.unet), decoder = await loadSession(ort, config.files.decoder);
  const sched = new sampler.NoiseSchedule(config.diffusion.schedule, config.diffusion.n_steps);
  return {ort, config, unet, decoder, sched};
}

// ---------------------------------------------------------------------------------------------- the networks

/** The UNet as sampler.js calls it: model(x, t, labels) -> Float32Array, one latent per label. */
function unetModel({ort, config, unet}) {
  const [C, H, W] = config.latent_shape, int64 = a => new ort.Tensor('int64', BigInt64Array.from(a, BigInt), [a.length]);
  return async (x, t, labels) => {
    const out = await unet.run({x: new ort.Tensor('float32', x, [labels.length, C, H, W]), t: int64(t), labels: int64(labels)});
    return out[unet.outputNames[0]].data;
  };
}

/** The decoder: n images in [-1, 1] (n*28*28 numbers) from n latents. */
async function decode({ort, config, decoder}, z, n) {
  const out = await decoder.run({z: new ort.Tensor('float32', z, [n, ...config.latent_shape])});
  return out[decoder.outputNames[0]].data;
}

// ---------------------------------------------------------------------------------------------- generating

const model = load().catch(e => Promise.reject(new Error(`${e.message ?? e} Reloading the page tries again.`)));
let last = null;

/** Eight images of class `label`, from `noise` (8*4*7*7 numbers) or else from `seed`, drawn in the grid. */
async function generate({label, seed = 0, noise = null, t0 = performance.now()}) {
  const m = await model, size = N_IMAGES * m.config.latent_shape.reduce((a, b) => a * b);
  if (!(label in m.config.classes)) throw new Error(`There is no class ${label}: the classes are 0 to ${m.config.classes.length - 1}.`);
  noise = noise ? Float32Array.from(noise) : sampler.randn(size, seed);
  if (noise.length !== size) throw new Error(`The noise must hold ${size} numbers, not ${noise.length}.`);
  const steps = m.config.sampling.steps, labels = Array(N_IMAGES).fill(label);
  const z = await sampler.sample({model: unetModel(m), sched: m.sched, labels, settings: m.config.sampling,
                                  prediction: m.config.diffusion.prediction, noise, nullLabel: m.config.null_label,
                                  callback: i => showStatus(`Step ${i + 1} of ${steps}…`)});
  const pixels = sampler.toUint8(await decode(m, z, N_IMAGES)), n = pixels.length / N_IMAGES;
  const images = Array.from({length: N_IMAGES}, (_, i) => pixels.subarray(i * n, (i + 1) * n));
  draw(images, m.config.classes[label]);
  last = {label, seed, noise: Array.from(noise), pixels: images.map(p => Array.from(p)), ms: performance.now() - t0};
  return last;
}

/** Each image (28*28 grey levels) on a canvas of its own, in the grid. */
function draw(images, name) {
  $('demo-grid').replaceChildren(...images.map((px, i) => {
    const canvas = document.createElement('canvas'), side = Math.sqrt(px.length);
    canvas.width = canvas.height = side;
    const ctx = canvas.getContext('2d'), img = ctx.createImageData(side, side);
    px.forEach((v, j) => img.data.set([v, v, v, 255], 4 * j));
    ctx.putImageData(img, 0, 0);
    canvas.setAttribute('role', 'img'); canvas.setAttribute('aria-label', `${name} ${i + 1}`);
    return canvas;
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

/** A class button's click: eight images of its class from the seed, timed from the click. */
async function onClass(event) {
  const t0 = event.timeStamp, label = Number(event.currentTarget.dataset.label), seed = parseSeed($('demo-seed').value);
  if (seed instanceof Error) return showError(seed.message);
  const buttons = document.querySelectorAll('#demo-classes button');
  buttons.forEach(b => { b.disabled = true; });
  showError(''); showStatus('Generating…');
  try {
    const r = await generate({label, seed, t0}), name = (await model).config.classes[label];
    showStatus(`${N_IMAGES} images of “${name}”, seed ${seed}, in ${(r.ms / 1000).toFixed(2)} s, computed in this browser.`);
  } catch (e) { showError(e.message ?? String(e)); }
  finally { buttons.forEach(b => { b.disabled = false; }); }
}

document.querySelectorAll('#demo-classes button').forEach(b => b.addEventListener('click', onClass));
model.then(() => showStatus('Ready: pick a class.'), e => showError(e.message ?? String(e)));

window.fmsdDemo = {ready: model.then(() => true, () => false), generate, sampler, get last() { return last; }};

// The sampler of fmsd_nb.diffusion, in JavaScript: the noise schedule, the timesteps, classifier-free guidance,
// DPM-Solver++(2M), the distilled student's DDIM steps, img2img's start part-way down the chain, and the class
// context blended as fmsd_nb.app's class_mix blends it, with the Python names in camelCase. No dependencies: the
// model is any async function model(x, t, labels) -> Float32Array, so this module runs in a browser (with
// onnxruntime-web, see demo.js) or in Node. Latents are flat Float32Arrays of B*4*7*7 numbers; the arithmetic is in
// float64, stored as float32.

// ---------------------------------------------------------------------------------------------- the noise schedule

/** n evenly spaced numbers from start to end, computed as torch.linspace computes them (float64). */
export function linspace(start, end, n) {
  const step = (end - start) / (n - 1), half = Math.floor(n / 2);
  return Float64Array.from({length: n}, (_, i) => i < half ? start + i * step : end - (n - 1 - i) * step);
}

/** The betas of a schedule of nSteps steps, as linear_betas and cosine_betas in Python (float64). */
export function makeBetas(kind, nSteps, betaStart = 1e-4, betaEnd = 0.02) {
  if (kind === 'linear') return linspace(betaStart, betaEnd, nSteps);
  if (kind !== 'cosine') throw new Error(`unknown schedule kind '${kind}'; valid kinds: 'linear', 'cosine'`);
  const s = 0.008, f = i => Math.cos((i / nSteps + s) / (1 + s) * Math.PI / 2) ** 2;
  return Float64Array.from({length: nSteps}, (_, i) => Math.min(1 - f(i + 1) / f(i), 0.999));
}

/** NoiseSchedule: alphasCumprod, the float64 cumulative product of 1 - betas, stored as float32 as in Python. */
export class NoiseSchedule {
  constructor(kind = 'linear', nSteps = 1000) {
    const betas = makeBetas(kind, nSteps);
    this.kind = kind; this.nSteps = nSteps; this.alphasCumprod = new Float32Array(nSteps);
    let prod = 1;
    betas.forEach((beta, t) => { prod *= 1 - beta; this.alphasCumprod[t] = prod; });
  }
  /** alpha-bar at timestep t; 1 at t = -1, after the last step (clean data). */
  alphaBar(t) { return t >= 0 ? this.alphasCumprod[t] : 1; }
}

// ---------------------------------------------------------------------------------------------- the timesteps

const roundHalfEven = v => { const r = Math.round(v); return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r; };  // as np.round

/** np.interp(x, xp, fp) for increasing xp. */
function interp(x, xp, fp) {
  if (x <= xp[0]) return fp[0];
  if (x >= xp[xp.length - 1]) return fp[fp.length - 1];
  let lo = 0, hi = xp.length - 1;                    // xp[lo] <= x < xp[hi]
  while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (xp[mid] <= x) lo = mid; else hi = mid; }
  if (xp[lo] === x) return fp[lo];
  return (fp[hi] - fp[lo]) / (xp[hi] - xp[lo]) * (x - xp[lo]) + fp[lo];
}

/** sampling_timesteps: the S decreasing timesteps a sampler visits, from nSteps-1, 'trailing' or 'logsnr' spaced. */
export function samplingTimesteps(steps, nSteps, spacing, sched) {
  if (!Number.isInteger(steps) || steps < 1 || steps > nSteps) throw new Error(`steps must be an integer from 1 to ${nSteps}, not ${steps}`);
  if (spacing === 'trailing') return Array.from({length: steps}, (_, i) => roundHalfEven(nSteps - i * (nSteps / steps)) - 1);
  if (spacing !== 'logsnr') throw new Error(`unknown spacing '${spacing}'; valid spacings: 'trailing', 'logsnr'`);
  const lam = Array.from(sched.alphasCumprod, ab => 0.5 * Math.log(ab / (1 - ab)));  // decreasing in t
  const lamUp = lam.slice().reverse(), tDown = lam.map((_, i) => nSteps - 1 - i);   // increasing lambda, its t
  const first = lam[nSteps - 1], delta = (lam[0] - first) / steps;                   // np.linspace(lam[-1], lam[0], S+1)[:-1]
  const ts = [];
  for (let i = 0; i < steps; i++) {
    const t = roundHalfEven(interp(i * delta + first, lamUp, tDown));
    ts.push(Math.max(steps - 1 - i, Math.min(t, ts.length ? ts[ts.length - 1] - 1 : nSteps - 1)));  // distinct, room left
  }
  return ts;
}

// ---------------------------------------------------------------------------------------------- guidance

/** SamplerSettings.weight_at: the guidance weight at timestep t of nSteps (1, no guidance, outside guidance_interval). */
export function weightAt(settings, t, nSteps = 1000) {
  const gi = settings.guidance_interval;
  if (gi != null && !(gi[0] <= t && t <= gi[1])) return 1;
  if ((settings.guidance_schedule ?? 'constant') === 'constant') return settings.guidance;
  const [lo, hi] = gi ?? [0, nSteps - 1];  // 'linear': from 1 at hi to 2w-1 at lo, mean w
  return 1 + (settings.guidance - 1) * 2 * (hi - t) / Math.max(1, hi - lo);
}

/** guided_output: uncond + w*(cond - uncond), from one doubled batch; one plain batch when w is 1 (or 0). */
export async function guidedOutput(model, x, t, labels, w, nullLabel) {
  const B = labels.length, ts = Array(B).fill(t), nulls = Array(B).fill(nullLabel);
  if (w === 1) return model(x, ts, labels);
  if (w === 0) return model(x, ts, nulls);
  const both = new Float32Array(2 * x.length);
  both.set(x); both.set(x, x.length);
  const out = await model(both, ts.concat(ts), labels.concat(nulls));
  const cond = out.subarray(0, x.length), uncond = out.subarray(x.length);
  return uncond.map((u, i) => u + w * (cond[i] - u));
}

/** eps_and_x0: the predicted noise and clean latents implied by a model output ('eps' or 'v' prediction). */
export function epsAndX0(out, x, ab, prediction, clampX0 = null) {
  const a = Math.sqrt(ab), b = Math.sqrt(1 - ab);
  let eps, x0;
  if (prediction === 'eps') { eps = out; x0 = x.map((xi, i) => (xi - b * out[i]) / a); }
  else if (prediction === 'v') { eps = out.map((o, i) => a * o + b * x[i]); x0 = x.map((xi, i) => a * xi - b * out[i]); }
  else throw new Error(`unknown prediction type '${prediction}'; valid: 'eps' or 'v'`);
  if (clampX0 != null) {
    x0 = x0.map(v => Math.min(Math.max(v, -clampX0), clampX0));
    eps = x.map((xi, i) => (xi - a * x0[i]) / b);
  }
  return {eps, x0};
}

// ---------------------------------------------------------------------------------------------- DPM-Solver++(2M)

const lam = ab => 0.5 * Math.log(ab / (1 - ab));  // log(alpha/sigma), the half log-SNR

/** dpmpp_2m_step: one DPM-Solver++(2M) step, second order when the previous x0 prediction is given. */
export function dpmpp2mStep(x, x0, abT, abPrev, x0Last = null, abLast = null) {
  if (abPrev >= 1) return x0;                                        // to clean data: x becomes x0
  const h = lam(abPrev) - lam(abT);
  const D = x0Last === null ? x0 : x0.map((v, i) => v + (v - x0Last[i]) * h / (2 * (lam(abT) - lam(abLast))));
  const cx = Math.sqrt((1 - abPrev) / (1 - abT)), cd = -Math.sqrt(abPrev) * Math.expm1(-h);
  return x.map((xi, i) => cx * xi + cd * D[i]);
}

/** dpmpp_sampler: DPM-Solver++(2M) over the (t, tPrev) pairs; denoise(x, t) -> {eps, x0} is the guided model. */
export async function dpmppSampler(denoise, x, pairs, sched, callback = null) {
  let x0Last = null, abLast = null;
  for (const [i, [t, tPrev]] of pairs.entries()) {
    const {x0} = await denoise(x, t);
    x = dpmpp2mStep(x, x0, sched.alphaBar(t), sched.alphaBar(tPrev), x0Last, abLast);
    [x0Last, abLast] = [x0, sched.alphaBar(t)];
    if (callback) await callback(i, t, x, x0);
  }
  return x;
}

// ---------------------------------------------------------------------------------------------- the student's DDIM

/** ddim_step with eta 0: deterministic DDIM from t to the next timestep (x0 after the last). */
export function ddimStep(x, eps, x0, abT, abPrev) {
  const a = Math.sqrt(abPrev), b = Math.sqrt(Math.max(1 - abPrev, 0));
  return x.map((xi, i) => a * x0[i] + b * eps[i]);
}

/** ddim_update's loop: the distilled student's sampler, one network pass and one DDIM step per timestep. */
export async function ddimSampler(denoise, x, pairs, sched, callback = null) {
  for (const [i, [t, tPrev]] of pairs.entries()) {
    const {eps, x0} = await denoise(x, t);
    x = ddimStep(x, eps, x0, sched.alphaBar(t), sched.alphaBar(tPrev));
    if (callback) await callback(i, t, x, x0);
  }
  return x;
}

/** The samplers by SamplerSettings.sampler: the UNet's solver, and the student's deterministic DDIM steps. */
export const SAMPLERS = {dpmpp: dpmppSampler, student: ddimSampler};

// ---------------------------------------------------------------------------------------------- sampling

/** q_sample: x0 noised to timestep t in one jump, sqrt(ab)*x0 + sqrt(1-ab)*noise. */
export function qSample(sched, x0, t, noise) {
  const ab = sched.alphaBar(t), a = Math.sqrt(ab), b = Math.sqrt(1 - ab);
  return x0.map((v, i) => a * v + b * noise[i]);
}

/** sample: latents of the classes `labels` from the starting noise (labels.length * 4*7*7 numbers); with `xInit`
 *  (clean latents) and `strength` < 1, img2img: the last round(strength*steps) steps, from xInit noised to the first. */
export async function sample({model, sched, labels, settings, prediction, noise, nullLabel, xInit = null, strength = 1,
                              callback = null}) {
  const sampler = SAMPLERS[settings.sampler];
  if (!sampler) throw new Error(`the sampler '${settings.sampler}' is not written in JavaScript; valid: ${Object.keys(SAMPLERS)}`);
  if (!(strength >= 0 && strength <= 1)) throw new Error(`strength must be in [0, 1], not ${strength}`);
  if (strength < 1 && xInit === null) throw new Error(`strength ${strength} < 1 needs xInit, the latents to start from`);
  const n = roundHalfEven(strength * settings.steps);
  if (n === 0) return Float32Array.from(xInit);
  const ts = samplingTimesteps(settings.steps, sched.nSteps, settings.spacing, sched).slice(settings.steps - n);
  const pairs = ts.map((t, i) => [t, i + 1 < ts.length ? ts[i + 1] : -1]);
  const x = xInit === null ? Float32Array.from(noise) : qSample(sched, Float32Array.from(xInit), ts[0], noise);
  const denoise = async (x, t) => epsAndX0(await guidedOutput(model, x, t, labels, weightAt(settings, t, sched.nSteps), nullLabel),
                                           x, sched.alphaBar(t), prediction, settings.clamp_x0);
  return sampler(denoise, x, pairs, sched, callback);
}

// ---------------------------------------------------------------------------------------------- the class context

/** ClassContext: the context tokens of each label, a row of the network's token table (n_classes+1 rows). */
export function classContext(tokens, width) {
  return labels => {
    const out = new Float32Array(labels.length * width);
    labels.forEach((l, i) => out.set(tokens.subarray(l * width, (l + 1) * width), i * width));
    return out;
  };
}

/** MixedContext: conditional row i gets (1-w[i])*tokens(a) + w[i]*tokens(b), in float32 as PyTorch computes it;
 *  the null rows keep the null tokens. */
export function mixedContext(tokens, width, a, b, w, nullLabel) {
  const f = Math.fround, plain = classContext(tokens, width);
  const ta = tokens.subarray(a * width, (a + 1) * width), tb = tokens.subarray(b * width, (b + 1) * width);
  return labels => {
    const out = plain(labels), cond = labels.flatMap((l, i) => l === nullLabel ? [] : [i]);
    if (cond.length !== w.length) throw new Error(`mixedContext was built for ${w.length} samples, got ${cond.length} conditional rows`);
    cond.forEach((row, j) => {
      const wj = f(w[j]), wa = f(1 - wj);
      for (let k = 0; k < width; k++) out[row * width + k] = f(f(wa * ta[k]) + f(wj * tb[k]));
    });
    return out;
  };
}

// ---------------------------------------------------------------------------------------------- noise and pixels

/** A seeded generator of uniform numbers in [0, 1): mulberry32, 32 bits of state. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n standard normal numbers from a seed (Box-Muller). Not torch's numbers: the same seed gives other images. */
export function randn(n, seed) {
  const u = mulberry32(seed), out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u())), a = 2 * Math.PI * u();
    out[i] = r * Math.cos(a);
    if (i + 1 < n) out[i + 1] = r * Math.sin(a);
  }
  return out;
}

/** to_uint8: images in [-1, 1] to bytes 0..255 (round half to even, as torch.round). */
export const toUint8 = imgs => Uint8ClampedArray.from(imgs, v => roundHalfEven((Math.min(Math.max(v, -1), 1) + 1) * 127.5));

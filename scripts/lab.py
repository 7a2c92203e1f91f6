#!/usr/bin/env python
"""The lab: studies that need training runs of their own, and research stand-ins that did not become part of the
package. The results notebook imports it; from the shell it runs one study and stores it in nbs/results/:

    python scripts/lab.py levers skip_missing=True     # NAME [key=value ...], values as Python literals or text
    python scripts/lab.py weak_model out=runs/weak_tiny2 && python scripts/lab.py autoguidance weak=runs/weak_tiny2

Model folders named here (`runs/...`) are relative to nbs/, where the script works."""
from __future__ import annotations
import ast, copy, inspect, os, shutil, subprocess, sys, time
from dataclasses import asdict
from pathlib import Path

import torch
from torch import Tensor, nn

from fmsd_nb.core import (WEIGHTS_DIR, default_device, read_model_config, save_tensors, load_tensors, load_weights,
                          save_json, load_json, machine_info)
from fmsd_nb.data import N_CLASSES, load_fashion_mnist
from fmsd_nb.unet import UNet, UNetConfig, UNET_PRESETS
from fmsd_nb.vae import VAE, reparameterize
from fmsd_nb.samplers import SamplerSettings
from fmsd_nb.folder import copy_model
from fmsd_nb.trainer import TrainConfig, Trainer
from fmsd_nb.training import train, encode_dataset, unet_loss_fn
from fmsd_nb.distill import DistillConfig, DMDConfig, dmd_student, student_x0
from fmsd_nb.student import distill, save_student
from fmsd_nb.app import load_pretrained, Pipeline
from fmsd_nb.metrics import evaluate, test_features, gaussian_fit, default_classifier
from fmsd_nb.bench import timed_steps
from fmsd_nb.browser import GivenContext
from fmsd_nb.studies import (study, run_study, quality_table, generated_latents, decode, set_figures, panel_spread,
                             train_minutes)

NBS = Path(__file__).resolve().parent.parent/'nbs'

class AutoGuided(nn.Module):
    "A UNet stand-in for guidance: `bad` answers the unconditional half of `guided_output`'s batch, conditionally"
    def __init__(self, good:nn.Module, bad:nn.Module): super().__init__(); self.good, self.bad = good, bad
    def forward(self, x, t, labels):
        b = len(x)//2
        if len(x) % 2 == 0 and (labels[b:] == N_CLASSES).all() and (labels[:b] < N_CLASSES).all():  # the doubled batch
            return torch.cat([self.good(x[:b], t[:b], labels[:b]), self.bad(x[b:], t[b:], labels[:b])])
        return self.good(x, t, labels)

# the `fast` recipe's UNet objective until flow matching replaced it: every lab run made before then used it
DENOISE = dict(objective='denoise', min_snr_gamma=5.0, t_dist='uniform')

def weak_model(out:str|Path,            # the new model folder
               unet:str='tiny',         # its UNet preset
               epochs:int=2,            # its UNet epochs
               src:str|Path=WEIGHTS_DIR, # the model whose VAE it shares
               progress:bool=True,
               **changes,               # other `TrainConfig` fields, e.g. n_train
              )->dict:                  # `train`'s summary
    """Train a weaker UNet on the latents of `src`'s VAE (a model folder for autoguidance); the UNet's recipe is
    `fast`'s before flow matching (`DENOISE`), unless `changes` say otherwise"""
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(src)/'vae.safetensors', out/'vae.safetensors')  # `train` resumes after the VAE stage
    return train(TrainConfig.preset('fast', unet=unet, epochs=epochs, **DENOISE | changes), out, resume=True,
                 progress=progress)

def scaling_run(out:str|Path='runs/scale', # the run folder; its snapshots go to out/snapshots
                epochs:int=64,            # UNet epochs: 64 is 8 times the `fast` recipe's 8
                src:str|Path=WEIGHTS_DIR, # the model whose VAE it shares (the `fast` recipe's)
                progress:bool=True)->dict:
    """The `fast` recipe's UNet trained `epochs` long with a constant learning rate, its EMA weights kept after every
    epoch: with no decay tied to the run's length, the snapshot after epoch k is what a run of k epochs gives, so one
    run serves every shorter point of the scaling study (resumable: run it again to continue)"""
    out = Path(out); (out/'snapshots').mkdir(parents=True, exist_ok=True)
    if not (out/'vae.safetensors').exists(): shutil.copy(Path(src)/'vae.safetensors', out/'vae.safetensors')
    def keep(stage, epoch, ema): save_tensors(ema.state_dict(), out/'snapshots'/f'unet_e{epoch + 1:03d}.safetensors')
    return train(TrainConfig.preset('fast', epochs=epochs, sched='const', **DENOISE), out, resume=True,
                 progress=progress, on_epoch=keep)

def _snapshot(run:Path, epoch:int)->Path: return Path(run)/'snapshots'/f'unet_e{epoch:03d}.safetensors'

def averaged_snapshots(run:str|Path, last:int, k:int)->dict:
    "The mean of the EMA snapshots after epochs `last-k+1` .. `last`: a longer average, chosen after training"
    sds = [load_tensors(_snapshot(run, e))[0] for e in range(last - k + 1, last + 1)]
    return {n: sum(sd[n].float() for sd in sds)/k for n in sds[0]}

@study
def scaling(run:str='runs/scale',         # the `scaling_run` folder
            epochs:tuple=(8, 16, 32, 64),  # its snapshots to measure (those not there yet are skipped)
            per_class:int=1000,            # images of each class in every set
            seeds:tuple=(0, 1, 2),         # sampling seeds
            averages:tuple=(4, 8),         # also the last snapshot's mean over this many epochs
           )->list:
    """The panel of the scaling run after each of `epochs`, with the UNet's own sampler guided as the shipped model is
    and unguided, beside the shipped UNet (the `fast` recipe: 8 epochs, one-cycle learning rate)"""
    shipped = load_pretrained(); t = shipped.teacher_settings
    per_epoch = shipped.meta['made']['unet_minutes']/shipped.meta['train']['epochs']  # the fast recipe's record
    def rows_of(pipe, name, group, minutes):
        return [dict(label=f'{name}, guided', pipe=pipe, settings=t, group=group, train_minutes=minutes),
                dict(label=f'{name}, unguided', pipe=pipe, settings=t, guidance=1, group=group, train_minutes=minutes)]
    rows = rows_of(shipped, 'shipped UNet (8 epochs, one-cycle)', 'shipped', shipped.meta['made']['unet_minutes'])
    done = [e for e in epochs if _snapshot(run, e).is_file()]
    for e in done:
        pipe = load_pretrained(); load_weights(pipe.unet, _snapshot(run, e))
        rows += rows_of(pipe, f'{e} epochs, constant lr', f'{e} epochs', round(e*per_epoch, 1))
    for k in (averages if done else ()):
        if done[-1] < k: continue
        pipe = load_pretrained(); pipe.unet.load_state_dict(averaged_snapshots(run, done[-1], k))
        rows += rows_of(pipe, f'{done[-1]} epochs, mean of the last {k} snapshots', f'{done[-1]} epochs, mean of {k}',
                        round(done[-1]*per_epoch, 1))
    return panel_spread(shipped, rows, per_class, seeds, floor=False)

def native_bf16()->bool:
    "Whether the CPU has bfloat16 arithmetic (AVX512-BF16 or AMX-BF16 in /proc/cpuinfo); without it bf16 is emulated"
    try: flags = set(Path('/proc/cpuinfo').read_text().split())
    except OSError: return False
    return bool(flags & {'avx512_bf16', 'amx_bf16'})

def _lever_trainer(x, y, lat, vae, bs=256, channels_last=False, compile=False)->Trainer:
    "A `Trainer` of the `fast` UNet stage with one throughput lever: batch size (lr scaled), memory format, compile"
    cfg = TrainConfig.preset('fast', bs=bs, lr=1e-3*bs/256)
    torch.manual_seed(0)
    unet = UNet(UNetConfig.preset(cfg.unet, class_cond=cfg.class_cond))
    if channels_last: unet = unet.to(memory_format=torch.channels_last)
    net = torch.compile(unet) if compile else unet  # the loss calls it; the trainer keeps the plain module
    return Trainer(unet, torch.optim.AdamW(unet.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay),
                   unet_loss_fn(net, vae, x, y, lat, cfg, torch.device('cpu')), len(y), cfg, 'unet',
                   ema=copy.deepcopy(unet).requires_grad_(False))

@study
def throughput(rounds:int=5, steps:int=3, n_images:int=4096)->list:
    """Images per second of the `fast` recipe's UNet training step with each throughput lever, timed in alternating
    rounds on one machine (the median of `rounds`); each row also says whether the CPU has bf16 arithmetic, without
    which bf16 autocast would only be emulated (it is not timed)"""
    x, y = load_fashion_mnist('train'); x, y = x[:n_images], y[:n_images]
    vae, cpu, gen = VAE(), torch.device('cpu'), torch.Generator().manual_seed(0)
    lat = encode_dataset(vae, x, progress=False)
    levers = {'the fast recipe (batch 256)': {}, 'channels_last': dict(channels_last=True), 'batch 512, lr 2e-3':
              dict(bs=512), 'batch 128, lr 5e-4': dict(bs=128), 'torch.compile': dict(compile=True)}
    ts, warm = {k: _lever_trainer(x, y, lat, vae, **v) for k, v in levers.items()}, {}
    for k, t in ts.items():
        t0 = time.perf_counter(); timed_steps(t, 2, gen, cpu); warm[k] = time.perf_counter() - t0  # compiles here
    speeds = {k: [] for k in ts}
    for _ in range(rounds):
        for k, t in ts.items(): speeds[k].append(timed_steps(t, steps, gen, cpu))
    base = sorted(speeds[next(iter(ts))])[rounds//2]
    return [dict(label=k, images_per_s=sorted(v)[rounds//2], ratio=sorted(v)[rounds//2]/base,
                 first_two_steps_s=round(warm[k], 1), native_bf16=native_bf16()) for k, v in speeds.items()]

@study
def autoguidance(weak:str,                # the weak model's folder (`weak_model`)
                 per_class:int=200,       # images of each class per row
                 guidance:tuple=(1.5, 2.0, 3.0), # autoguidance scales
                 weights:str|None=None,   # the model to sample (default: the shipped weights)
                 seed:int=0)->list:
    "FID's terms and class accuracy with classifier-free guidance (the default) and with autoguidance by `weak`"
    pipe, bad = load_pretrained(weights), load_pretrained(weak)
    fit, auto = gaussian_fit(test_features(default_classifier())), AutoGuided(pipe.unet, bad.unet).eval()
    rows = []
    classifier_free = ('classifier-free', pipe.unet, pipe.teacher_settings.guidance)
    for mode, model, w in [classifier_free] + [(f'autoguidance by {weak}', auto, w) for w in guidance]:
        s = pipe.teacher_settings.replace(guidance=w)
        z, labels = generated_latents(pipe, per_class, s, seed, model=model)
        rows.append(dict(guidance=mode, settings=asdict(s), **set_figures(decode(pipe, z), labels, fit)))
    return rows

# the `fast` recipe as it was before the levers: `train(TrainConfig.preset('fast', **FAST_BEFORE), 'runs/fast0')`
LEVER_BASE = 'runs/fast0'
# what `fast` changed since
FAST_BEFORE = dict(vae_epochs=3, sampling=SamplerSettings(guidance=2.0, guidance_interval=(100, 900)), epochs=8,
                   **DENOISE)
LEVERS = [dict(label="`fast` as it was, the teacher's settings", weights=LEVER_BASE),
          dict(label='guidance 1.5', weights=LEVER_BASE, guidance=1.5),
          dict(label='guided at t 100-700 only', weights=LEVER_BASE, guidance_interval=(100, 700)),
          dict(label='guidance 1.5 at t 100-700', weights=LEVER_BASE, guidance=1.5, guidance_interval=(100, 700)),
          dict(label='guidance falling linearly with t', weights=LEVER_BASE, guidance_schedule='linear'),
          dict(label='class embedding and AdaGN', weights='runs/ada'),
          dict(label='AdaGN, guidance 1.5', weights='runs/ada', guidance=1.5),
          dict(label='AdaGN, guidance 1.5 at t 100-700', weights='runs/ada', guidance=1.5,
               guidance_interval=(100, 700)),
          dict(label='logit-normal timesteps', weights='runs/logitn'),
          dict(label='VAE decoder 48, 96, 192', weights='runs/vae_dec'),
          dict(label='VAE decoder 48, 96, 192, guidance 1.5', weights='runs/vae_dec', guidance=1.5),
          dict(label='decoder fine-tuned with a patch-GAN term', weights='runs/gan_dec'),
          dict(label='guidance 1.75 at t 100-700', weights=LEVER_BASE, guidance=1.75, guidance_interval=(100, 700)),
          dict(label='VAE 5 epochs', weights='runs/vae5'),
          dict(label='VAE 5 epochs, guided at t 100-700', weights='runs/vae5', guidance_interval=(100, 700)),
          dict(label='VAE 5 epochs, guidance 1.75 at t 100-700', weights='runs/vae5', guidance=1.75,
               guidance_interval=(100, 700)),
          dict(label='VAE 5 epochs: small student of guidance 2 at t 100-900', weights='runs/s1',
               sampler='student', steps=2),
          dict(label='VAE 5 epochs: small student of guidance 1.75 at t 100-700', weights='runs/s2',
               sampler='student', steps=2),
          dict(label='the same, 4,000 distillation steps', weights='runs/s2long', sampler='student', steps=2),
          dict(label="the same, a student of the teacher's shape", weights='runs/s2full', sampler='student', steps=2)]

@study
def levers(per_class:int=500,             # images of each class per row
           rows:list|None=None,           # default `LEVERS`
           skip_missing:bool=False,       # leave out rows whose model folder is not there (else an error)
          )->list:
    "Each lever's row of the quality table, at `per_class` images of each class"
    rows = [dict(r, per_class=per_class, group='levers') for r in (rows or LEVERS)
            if not (skip_missing and r.get('weights') and not Path(r['weights']).is_dir())]
    return quality_table(load_pretrained(), rows)

class CADS(nn.Module):
    "A UNet stand-in for condition-annealed sampling: noisy class tokens at high noise levels, clean below `tau[0]`"
    def __init__(self, unet:nn.Module,  # the UNet, with a `context` that turns labels into tokens
                 s:float=0.1,           # the noise scale
                 tau:tuple=(0.6, 0.9),  # t, as fractions of the schedule: a clean condition below, all noise above
                 psi:float=1.0,         # how much of the rescaled condition to use
                 n_steps:int=1000,      # the schedule's timesteps
                 seed:int=0):           # seeds the noise
        if not (s >= 0 and 0 <= tau[0] < tau[1] <= 1 and 0 <= psi <= 1):
            raise ValueError(f'CADS needs s >= 0, 0 <= tau[0] < tau[1] <= 1 and psi in [0, 1], '
                             f'not s={s}, tau={tau}, psi={psi}')
        super().__init__(); self.unet, self.s, self.tau, self.psi, self.n_steps = unet, s, tau, psi, n_steps
        self.gen = torch.Generator().manual_seed(seed)
    def gamma(self, t:Tensor)->Tensor: # timesteps (B,) -> the share of the clean condition (B,)
        u = t.float()/(self.n_steps - 1)
        return ((self.tau[1] - u)/(self.tau[1] - self.tau[0])).clamp(0, 1)
    def forward(self, x:Tensor, t, labels:Tensor)->Tensor:
        t = torch.as_tensor(t, device=x.device).expand(len(x))
        y = self.unet.context(labels)
        g = self.gamma(t).view(-1, 1, 1).to(y)
        yn = g.sqrt()*y + self.s*(1 - g).sqrt()*torch.randn(y.shape, generator=self.gen).to(y)
        m, sd = y.mean((1, 2), keepdim=True), y.std((1, 2), keepdim=True)
        rescaled = (yn - yn.mean((1, 2), keepdim=True))/yn.std((1, 2), keepdim=True).clamp_min(1e-8)*sd + m
        yn = self.psi*rescaled + (1 - self.psi)*yn
        ctx = torch.where((labels < N_CLASSES).view(-1, 1, 1).to(y.device), yn, y)  # the null class stays clean
        inner = self.unet.context
        self.unet.context = GivenContext(ctx)
        try: return self.unet(x, t, labels)
        finally: self.unet.context = inner

CADS_ROWS = [dict(label="the teacher's settings"), dict(label='CADS, s = 0.1', cads=dict(s=0.1)),
             dict(label='CADS, s = 0.25', cads=dict(s=0.25)), dict(label='CADS, s = 0.5', cads=dict(s=0.5)),
             dict(label='guidance 2 at t 100-900', settings=dict(guidance=2.0, guidance_interval=(100, 900))),
             dict(label='guidance 2 at t 100-900, CADS, s = 0.25',
                  settings=dict(guidance=2.0, guidance_interval=(100, 900)), cads=dict(s=0.25))]

@study
def cads(per_class:int=500,           # images of each class per row
         weights:str|None=None,       # the model (default: the shipped weights)
         rows:list|None=None,         # default `CADS_ROWS`
         seed:int=0)->list:
    "FID, the ceiling and class accuracy of the UNet's sampler with and without condition-annealed sampling"
    pipe, out = load_pretrained(weights), []
    for r in rows or CADS_ROWS:
        s = pipe.teacher_settings.replace(**r.get('settings', {}))
        model = CADS(pipe.unet, n_steps=pipe.sched.n_steps, seed=seed, **r['cads']) if 'cads' in r else None
        z, labels = generated_latents(pipe, per_class, s, seed, model=model)
        res = evaluate(decode(pipe, z), labels, vae=pipe.vae, seed=seed)
        out.append(dict(label=r['label'], settings=asdict(s), cads=r.get('cads'), **res))
    return out

UNET_DESIGNS = {'reference': UNetConfig.preset('reference'), 'fast': UNetConfig.preset('fast'),
                '64 at 7x7': UNetConfig.preset('fast', mults=(4, 8)),
                '64 at 7x7, two blocks at 4x4, one in the middle':
                    UNetConfig.preset('fast', mults=(4, 8), n_blocks=(1, 2), mid_blocks=1),
                '8 class tokens': UNetConfig.preset('fast', n_ctx_tokens=8)}

def _unet_trainer(ucfg:UNetConfig, cfg:TrainConfig, x:Tensor, y:Tensor, lat:tuple, vae:VAE, device)->Trainer:
    "A `Trainer` of the UNet stage of `cfg` with a UNet of shape `ucfg`, to time its steps"
    torch.manual_seed(0)
    unet = UNet(ucfg).to(device)
    return Trainer(unet, torch.optim.AdamW(unet.parameters(), lr=1e-4), unet_loss_fn(unet, vae, x, y, lat, cfg, device),
                   len(x), cfg, 'unet', ema=copy.deepcopy(unet).requires_grad_(False))

def bench_unet_designs(designs:dict|None=None, # name -> `UNetConfig` (default `UNET_DESIGNS`), the baseline first
                       rounds:int=3, steps:int=4, # alternating rounds, timed steps per design and round (median kept)
                       device=None, n_images:int=2048)->list: # training images to draw batches from
    "Training throughput (images/s) and parameters of UNet designs on the `fast` recipe's UNet stage"
    designs, device, cfg = designs or UNET_DESIGNS, default_device(device), TrainConfig.preset('fast')
    x, y = (t[:n_images] for t in load_fashion_mnist('train'))
    vae = VAE(chs=cfg.vae_chs).to(device); lat = encode_dataset(vae, x, progress=False)
    ts = {k: _unet_trainer(c, cfg, x, y, lat, vae, device) for k, c in designs.items()}
    gen = torch.Generator().manual_seed(0)
    for t in ts.values(): timed_steps(t, 1, gen, device)  # warm-up
    speeds = {k: [] for k in ts}
    for _ in range(rounds):
        for k, t in ts.items(): speeds[k].append(timed_steps(t, steps, gen, device))
    return [dict(design=k, config=asdict(designs[k]), params=sum(p.numel() for p in ts[k].model.parameters()),
                 images_per_s=sorted(v)[len(v)//2]) for k, v in speeds.items()]

def design_run(design:str='64 at 7x7', # a key of `UNET_DESIGNS`
               out:str|Path='runs/w64',  # the new model folder
               epochs:int=7,             # UNet epochs: 7 of this design cost what 8 of `fast` do (`unet_designs`)
               objective:str='denoise',  # the UNet's objective: 'denoise' (`DENOISE`) or 'flow' (`FLOW`, as shipped)
               progress:bool=True)->dict:
    """The `fast` recipe (one-cycle, on the shipped VAE's latents, with `objective`) with the UNet of
    `UNET_DESIGNS[design]`: the UNet's shape at equal compute. The design becomes the UNet preset 'lab: <design>' for
    this process (and for a resumed run)"""
    if objective not in RECIPES: sys.exit(f"objective must be one of {', '.join(RECIPES)}, not {objective!r}")
    UNET_PRESETS[f'lab: {design}'] = {k: v for k, v in asdict(UNET_DESIGNS[design]).items() if k != 'class_cond'}
    return weak_model(out, unet=f'lab: {design}', epochs=epochs, progress=progress, **RECIPES[objective])

# Levers on what the UNet is trained to do, each one change to the `fast` recipe (one-cycle, 8 epochs, the shipped
# VAE's latents): flow matching is the package's objective='flow' (the diffusion chapter); per-channel standardisation
# is the lab's `standardised`, stood in for the package's `diffusion_loss` while the lab trains.
FLOW = dict(objective='flow', min_snr_gamma=None, t_dist='logit_normal')  # Esser et al. 2024: logit-normal s, plain MSE
RECIPES = dict(denoise=DENOISE, flow=FLOW)  # the UNet objectives a lab run can take, by name

def latent_stats(src:str|Path=WEIGHTS_DIR, seed:int=0)->tuple[list, list]:
    "Per-channel mean and standard deviation of `src`'s scaled latents of the training set (posterior samples)"
    vae = load_weights(VAE(), Path(src)/'vae.safetensors').eval()
    mu, logvar = encode_dataset(vae, load_fashion_mnist('train')[0], progress=False)
    z = reparameterize(mu, logvar, torch.Generator().manual_seed(seed))*vae.latent_scale
    return z.mean((0, 2, 3)).tolist(), z.std((0, 2, 3)).tolist()

def standardised(loss, mean:list, std:list):
    "`loss` on per-channel standardised latents, (z - mean)/std"
    m, sd = (torch.tensor(v).view(1, -1, 1, 1) for v in (mean, std))
    return lambda model, x0, *a, **k: loss(model, (x0 - m.to(x0))/sd.to(x0), *a, **k)

LEVER_RUNS = {'flow': 'runs/flow', 'standardised': 'runs/std', 'seed 1': 'runs/seed1', 'seed 2': 'runs/seed2'}

def lever_run(lever:str='flow', # 'flow', 'standardised', or 'seed 1' and 'seed 2' (the recipe again): `LEVER_RUNS`
              out:str|Path|None=None, # the new model folder (default `LEVER_RUNS[lever]`)
              epochs:int=8, progress:bool=True,
              **changes)->dict:       # other `TrainConfig` fields, e.g. n_train
    """The `fast` recipe with one lever, on the shipped VAE's latents; 'seed 1' and 'seed 2' change only the training
    seed: the recipe's own run-to-run spread, the yardstick for the others (resumable: run it again to continue)"""
    import fmsd_nb.training as tr
    if lever not in LEVER_RUNS: sys.exit(f"lever must be one of {', '.join(map(repr, LEVER_RUNS))}, not {lever!r}")
    out = Path(out or LEVER_RUNS[lever]); out.mkdir(parents=True, exist_ok=True)
    if lever == 'standardised' and not (out/'latent_stats.json').exists():
        save_json(dict(zip(('mean', 'std'), latent_stats())), out/'latent_stats.json')
    inner, seed = tr.diffusion_loss, int(lever[5:]) if lever.startswith('seed ') else 0
    if lever == 'standardised': tr.diffusion_loss = standardised(inner, **load_json(out/'latent_stats.json'))
    try: return weak_model(out, unet='fast', epochs=epochs, progress=progress,
                           **{'seed': seed} | (FLOW if lever == 'flow' else {}) | changes)
    finally: tr.diffusion_loss = inner

def lever_pipe(folder:str|Path)->Pipeline:
    "A `lever_run` folder's pipeline: its images decoded from standardised latents where it has `latent_stats.json`"
    pipe = load_pretrained(folder)
    if (Path(folder)/'latent_stats.json').exists():
        st = load_json(Path(folder)/'latent_stats.json')
        m, sd = (torch.tensor(st[k]).view(1, -1, 1, 1).to(pipe.device) for k in ('mean', 'std'))
        vae = pipe.vae; vae.from_latent = lambda z: VAE.from_latent(vae, z*sd + m)
    return pipe

@study
def objectives(folders:tuple=tuple(LEVER_RUNS.values()), # `lever_run` folders (those not there are skipped)
               per_class:int=1000, seeds:tuple=(0, 1, 2))->list:
    """The levers on the objective beside the shipped UNet and two more runs of its recipe (seeds 1 and 2), each
    guided as shipped (5 steps) and unguided, in one run"""
    shipped = load_pretrained(); t = shipped.teacher_settings
    rows = [dict(label='shipped: the default', settings=shipped.settings, group='shipped'),
            dict(label='shipped: UNet, 5 steps, guided', settings=t, group='shipped'),
            dict(label='shipped: UNet, 5 steps, unguided', settings=t, guidance=1, group='shipped')]
    return panel_spread(shipped, rows + _lever_rows(folders, t), per_class, seeds, floor=False)

def _lever_rows(folders:tuple, t:SamplerSettings)->list:
    "Each `lever_run` folder's UNet guided as `t` and unguided, as rows of `panel_spread`"
    rows = []
    for f in (f for f in folders if Path(f).is_dir()):
        p, name, mins = lever_pipe(f), Path(f).name, train_minutes(f)
        rows += [dict(label=f'{name}: UNet, 5 steps, guided', pipe=p, settings=t, group=name, train_minutes=mins),
                 dict(label=f'{name}: UNet, 5 steps, unguided', pipe=p, settings=t, guidance=1, group=name,
                      train_minutes=mins)]
    return rows

@study
def second_runs(folders:tuple=('runs/flow1',), # more `lever_run` folders: `lever_run lever=flow out=runs/flow1 seed=1`
                per_class:int=1000, seeds:tuple=(0, 1, 2))->list:
    """The rows `objectives` would add for more lever runs (a lever trained again with another seed), without
    measuring its others again: sampling is seeded, so its rows measured again come out the same to the last digit"""
    shipped = load_pretrained()
    return panel_spread(shipped, _lever_rows(folders, shipped.teacher_settings), per_class, seeds, floor=False)

@study
def unet_designs(rounds:int=3, steps:int=4, device:str|None=None)->list:
    "`bench_unet_designs` of `UNET_DESIGNS`"
    return bench_unet_designs(rounds=rounds, steps=steps, device=device)

@study
def candidates(folders:tuple=('runs/fast16',), # model folders to measure beside the shipped model
               per_class:int=1000,            # images of each class in every set
               seeds:tuple=(0, 1, 2),         # sampling seeds
               unet_rows:tuple|None=None,     # the folders whose UNet is also measured (default: every one)
               steps:tuple=(5, 20),           # the UNet's guided rows (its unguided row is at 5 steps)
               shipped_unet:bool=False,       # also the shipped UNet, guided at `steps`
              )->list:
    """The panel of each candidate model folder beside the shipped model, measured in one run: the default sampler
    (the student where the folder has one), and its UNet guided at `steps` and unguided at 5"""
    shipped = load_pretrained()
    rows = [dict(label='shipped: the default', settings=shipped.settings, group='shipped'),
            dict(label='shipped: UNet, 5 steps, unguided', steps=5, guidance=1, group='shipped')]
    rows += [dict(label=f'shipped: UNet, {n} steps, guided', steps=n, group='shipped') for n in steps if shipped_unet]
    for f in folders:
        p, name = load_pretrained(f), Path(f).name
        if p.settings != p.teacher_settings:
            rows.append(dict(label=f'{name}: the default', weights=f, settings=p.settings, group=name))
        for n, w in [(n, None) for n in steps] + [(5, 1)] if unet_rows is None or f in unet_rows else ():
            rows.append(dict(label=f"{name}: UNet, {n} steps, {'unguided' if w else 'guided'}", weights=f,
                             steps=n, group=name, **({'guidance': w} if w else {})))
    return panel_spread(shipped, rows, per_class, seeds, floor=False)

@study
def flow_recipe(folders:tuple=('runs/flow12_s20',), # the flow recipe's model folder, with its student
                per_class:int=1000, seeds:tuple=(0, 1, 2))->list:
    """`candidates` in a study of its own: the flow-matching recipe (`FLOW`, 12 UNet epochs, the student distilled
    from the 20-step guided sampler) beside the shipped model, in one run"""
    return candidates(folders, per_class, seeds)

@study
def longer_student(folders:tuple=('runs/flow12_s20x2',), # the shipped UNet with a student distilled for longer
                   per_class:int=1000, seeds:tuple=(0, 1, 2))->list:
    """The flow recipe's student distilled from twice the pairs for twice the steps (`fmsd_distill --weights
    runs/flow12 --out runs/flow12_s20x2 --teacher_steps 20 --n_pairs 40000 --train_steps 4000 --default`) beside the
    shipped student and the sampler both learn, the shipped UNet's 20 guided steps, in one run"""
    return candidates(folders, per_class, seeds, unet_rows=(), steps=(20,), shipped_unet=True)

@study
def flow_runs(folders:tuple=('runs/flow12_seed1', 'runs/tok8'), # more UNets of the flow recipe
              per_class:int=1000, seeds:tuple=(0, 1, 2))->list:
    """The flow recipe's UNet trained again, beside the shipped UNet, guided at 20 steps (the sampler its student
    learns) and unguided at 5, in one run: with seed 1, the recipe's training noise (`lever_run lever=flow
    out=runs/flow12_seed1 epochs=12 seed=1`), and with 8 class tokens instead of 4, the UNet's shape (`design_run
    "design=8 class tokens" out=runs/tok8 epochs=12 objective=flow`)"""
    return candidates(folders, per_class, seeds, steps=(20,), shipped_unet=True)

@study
def shapes(folders:tuple=('runs/w64',), # `design_run` folders
           per_class:int=1000, seeds:tuple=(0, 1, 2))->list:
    """The UNet's shape at equal compute: each folder's UNet beside the shipped one (the `fast` design, 8 epochs),
    guided at 5 steps and unguided, in one run (`candidates` with the shipped UNet's rows)"""
    return candidates(folders, per_class, seeds, steps=(5,), shipped_unet=True)

def _monitor(pipe:Pipeline, net:nn.Module, ts:list, z:Tensor, labels:Tensor)->dict:
    "FID in the panel's three feature spaces of the images `net` makes from `z` (a quick look, not the panel)"
    from fmsd_nb.classifiers import features, default_plain_net
    from fmsd_nb.metrics import fid, pca_features
    from fmsd_nb.panel import _pca_test_features
    with torch.no_grad():
        imgs = decode(pipe, torch.cat([student_x0(net, z[i:i+500], labels[i:i+500], pipe.sched, ts)
                                       for i in range(0, len(z), 500)]))
    clf, plain = default_classifier(), default_plain_net()
    return dict(fid=fid(features(imgs, clf), test_features(clf)),
                fid_plain=fid(features(imgs, plain), test_features(plain)),
                fid_pca=fid(pca_features(imgs), _pca_test_features()))

def dmd_run(out:str|Path='runs/dmd',   # the new model folder: `src` with the DMD student as its default
            src:str|Path=WEIGHTS_DIR,   # the teacher's model folder, with the student to start from
            iters:int=500, bs:int=64, lr:float=2e-5, lr_fake:float=1e-4, fake_steps:int=2, warmup:int=300,
            guidance:float|None=None,   # the real score's guidance inside the teacher's interval (None: the teacher's)
            gan:tuple=(3e-3, 1e-2), ema:float=0.99, # as `DMDConfig`'s fields (ema: its ema_decay)
            every:int=100,              # a quick look (2,000 images) at the EMA student every this many updates
            seed:int=0):
    """The distillation chapter's `dmd_student` on `src`'s student, written into `out` as that folder's default, with
    a quick look at its FID every `every` updates kept in the folder's record (the runs of the results notebook were
    made by this function before `dmd_student` moved into the package, with the same arithmetic and random draws)"""
    t0, pipe = time.time(), load_pretrained(src, device='cpu')
    entry = pipe.meta['student']; ts = [int(t) for t in entry['timesteps']]
    cfg = DMDConfig(iters=iters, bs=bs, lr=lr, lr_fake=lr_fake, fake_steps=fake_steps, warmup=warmup,
                    guidance=guidance, gan=gan, ema_decay=ema, seed=seed)
    gm = torch.Generator().manual_seed(123)  # the quick look's noise and labels, the same at every look
    mz, my = torch.randn(2000, *pipe.latent_shape, generator=gm), torch.arange(N_CLASSES).repeat_interleave(200)
    log = []
    def look(it, student):
        if it % every: return
        log.append(dict(iter=it, **_monitor(pipe, student, ts, mz, my))); print(log[-1], flush=True)
    student = dmd_student(pipe, cfg, callback=look)
    args = dict(out=str(out), src=str(src), iters=iters, bs=bs, lr=lr, lr_fake=lr_fake, fake_steps=fake_steps,
                warmup=warmup, guidance=guidance, gan=list(gan), ema=ema, seed=seed)
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}  # the values as they were given
    defaults = {k: p.default for k, p in inspect.signature(dmd_run).parameters.items()}
    cmd = ' '.join(['python scripts/lab.py dmd_run'] + [f'{k}={v}'.replace(' ', '') for k, v in given.items()
                                                       if k == 'out' or str(v) != str(defaults[k])])
    made = dict(command=cmd, dmd=args, quick_looks=log, date=time.strftime('%Y-%m-%d'), machine=machine_info(),
                minutes=round((time.time() - t0)/60, 2))
    save_student(out, student, DistillConfig(**entry['distill']), ts, made, default=True, src=src)
    return log

@study
def dmd(folders:tuple=('runs/dmd15', 'runs/dmd15_seed1'), # `dmd_run` folders
        per_class:int=1000, seeds:tuple=(0, 1, 2),
        steps:tuple=(20,))->list: # the shipped UNet's guided rows
    """The student fine-tuned by distribution matching (`dmd_run`) beside the shipped student and the sampler it was
    distilled from, the shipped UNet's 20 guided steps, in one run; each DMD row keeps its run's quick looks"""
    rows = candidates(folders, per_class, seeds, unet_rows=(), steps=steps, shipped_unet=True)
    for r in rows:
        if r.get('model') in folders: r['dmd'] = read_model_config(r['model'])['student']['made']
    return rows

@study
def dmd_longer(folders:tuple=('runs/dmd_x2',), # `dmd_run` from the shipped folder, whose student is DMD's already
               per_class:int=1000, seeds:tuple=(0, 1, 2))->list:
    """`dmd` in a study of its own: the shipped student (500 DMD updates) fine-tuned for 500 more, beside it, in one
    run (the twenty guided steps are `panel_10k`'s, measured with the same seeds)"""
    return dmd(folders, per_class, seeds, steps=())

def pairs_folder(out:str|Path='runs/pairs', # the folder to write
                 commit:str='557604b'):     # a commit of this repository whose package shipped the pairs student
    "The package's model folder as it was at `commit`, from git: the pairs student the shipped DMD run started from"
    out, git = Path(out), lambda *a, **kw: subprocess.run(['git', *a], capture_output=True, check=True, cwd=NBS.parent)
    out.mkdir(parents=True, exist_ok=True)
    for f in git('ls-tree', '--name-only', commit, 'fmsd_nb/weights/').stdout.decode().split():
        (out/Path(f).name).write_bytes(git('show', f'{commit}:{f}').stdout)

@study
def dmd_levers(folders:tuple=('runs/dmd_gan3',), # `dmd_run` folders from the pairs student, with other settings
               per_class:int=1000, seeds:tuple=(0, 1, 2))->list:
    """`dmd` in a study of its own: DMD runs from the same student as the shipped one (the pairs student) with one
    setting changed each, beside the shipped student, in one run"""
    return dmd(folders, per_class, seeds, steps=())

@study
def dmd_teachers(g125:str='runs/dmd_g125',          # `dmd_run` from the pairs student, guidance 1.25 in the real score
                 pairs0:str='runs/pairs',            # the shipped UNet's pairs student (`pairs_folder`)
                 pairs1:str='runs/flow12_seed1_s20', # the flow recipe's UNet trained with seed 1, with its pairs student
                 per_class:int=1000, seeds:tuple=(0, 1, 2))->list:
    """The teacher a student matches: less guidance in DMD's real score; and a second training run of the UNet (seed
    1) with its pairs student, beside the shipped UNet's pairs student, with that UNet's twenty guided steps (the
    sampler its student learns), and the shipped student, in one run"""
    shipped, name = load_pretrained(), lambda f: Path(f).name
    rows = [dict(label='shipped: the default', settings=shipped.settings, group='shipped')]
    rows += [dict(label=f'{name(f)}: the default', weights=f, settings=load_pretrained(f).settings, group=name(f))
             for f in (g125, pairs0, pairs1)]
    rows.append(dict(label=f'{name(pairs1)}: UNet, 20 steps, guided', weights=pairs1, steps=20, group=name(pairs1)))
    rows = panel_spread(shipped, rows, per_class, seeds, floor=False)
    for r in rows:
        if r.get('model') == g125: r['dmd'] = read_model_config(r['model'])['student']['made']
    return rows

@study
def issue_figures(then:str='runs/issue_time',    # the package's model when #23 was filed (`pairs_folder`, 7a0c8e2)
                  w1:str='runs/dmd_w1',          # `dmd_run` from the pairs student, guidance 1: no guidance anywhere
                  unet1:str='runs/dmd_unet1',    # `dmd_run` from the seed-1 UNet's pairs student, guidance 1.5
                  per_class:int=1000, seeds:tuple=(0, 1, 2))->list:
    """The issue's figures in one run: the model when the issue was filed (its default, and its UNet's five steps
    unguided) beside the shipped one (its default, and its UNet unguided at five and twenty steps); a DMD student
    with no guidance anywhere (the student's own unguided row); and DMD from the seed-1 UNet's pairs student"""
    shipped, name = load_pretrained(), lambda f: Path(f).name
    rows = [dict(label='issue time: the default', weights=then, settings=load_pretrained(then).settings, group='then'),
            dict(label='issue time: UNet, 5 steps, unguided', weights=then, guidance=1, group='then'),
            dict(label='shipped: the default', settings=shipped.settings, group='shipped'),
            dict(label='shipped: UNet, 5 steps, unguided', settings=shipped.teacher_settings, guidance=1,
                 group='shipped'),
            dict(label='shipped: UNet, 20 steps, unguided', settings=shipped.teacher_settings, steps=20, guidance=1,
                 group='shipped')]
    rows += [dict(label=f'{name(f)}: the default', weights=f, settings=load_pretrained(f).settings, group=name(f))
             for f in (w1, unet1) if Path(f).is_dir()]
    rows = panel_spread(shipped, rows, per_class, seeds, floor=False)
    for r in rows:
        if r.get('model') in (w1, unet1): r['dmd'] = read_model_config(r['model'])['student']['made']
    return rows

def train_lever_runs():
    "Train the levers' model folders into `runs/` (relative to nbs/): hours on a 2-core CPU"
    train(TrainConfig.preset('fast', **FAST_BEFORE), 'runs/fast0')
    train(TrainConfig.preset('fast', **FAST_BEFORE, class_cond='attn+ada'), 'runs/ada')
    train(TrainConfig.preset('fast', **(FAST_BEFORE | dict(t_dist='logit_normal'))), 'runs/logitn')
    train(TrainConfig.preset('fast', **FAST_BEFORE, vae_dec_chs=(48, 96, 192)), 'runs/vae_dec')
    # `fast` until flow matching, sampler aside
    train(TrainConfig.preset('fast', **(FAST_BEFORE | dict(vae_epochs=5))), 'runs/vae5')
    # the distillation preset's student until it changed: no bottleneck blocks, 96 channels deepest
    small = dict(mid_blocks=0, mults=(3, 6))
    for dest, changes, cfg in [('runs/s1', {}, dict(student=small)),
                               ('runs/s2', dict(guidance=1.75, guidance_interval=[100, 700]), dict(student=small)),
                               ('runs/s2long', dict(guidance=1.75, guidance_interval=[100, 700]),
                                dict(student=small, train_steps=4000)),
                               ('runs/s2full', dict(guidance=1.75, guidance_interval=[100, 700]), {})]:
        base = SamplerSettings(**read_model_config('runs/vae5')['sampling'])
        copy_model('runs/vae5', dest, extras=False, sampling=base.replace(**changes))  # without its student
        dcfg = DistillConfig.preset('fast', teacher_steps=None, **cfg)  # the folder's own sampler, as then
        student, rec = distill(dest, dcfg)
        save_student(dest, student, dcfg, rec['timesteps'], made={}, default=True)

def _value(v:str):
    "A command-line value: a Python literal, else the string itself"
    try: return ast.literal_eval(v)
    except (ValueError, SyntaxError): return v

# they write model folders, not studies
RUN_MAKERS = ('train_lever_runs', 'weak_model', 'scaling_run', 'design_run', 'lever_run', 'dmd_run', 'pairs_folder')

def main(argv:list):
    "`python scripts/lab.py NAME [key=value ...]`: run a study or one of `RUN_MAKERS`, from nbs/"
    if not argv: sys.exit(__doc__)
    os.chdir(NBS)
    kw = {k: _value(v) for k, v in (a.split('=', 1) for a in argv[1:])}
    if argv[0] in RUN_MAKERS: return globals()[argv[0]](**kw)
    print(run_study(argv[0], **kw))

if __name__ == '__main__': main(sys.argv[1:])

"""Where the generated images fall short of the VAE ceiling: the diagnostics of the metrics chapter's last section.

    python scripts/quality_gap.py split                  # FID's two terms: generated, VAE reconstructions, real images
    python scripts/quality_gap.py spread                 # within-class spread of generated latents against real ones
    python scripts/quality_gap.py autoguide GOOD BAD     # guidance by a weaker model instead of the unconditional one

Each takes `--weights FOLDER` (default: the shipped weights; for `autoguide`, GOOD) and `--per_class N`.
`autoguide` needs two model folders that share a VAE, e.g. one trained as
`train(TrainConfig.preset_('fast', unet='tiny', epochs=2), 'runs/bad_tiny2', resume=True)` after copying
`vae.safetensors`, `vae_state.safetensors` and `latents.safetensors` from the GOOD folder into `runs/bad_tiny2`.
"""
import argparse, json, sys, time
import torch, torch.nn as nn
from fmsd_nb.data import N_CLASSES, CLASSES, load_fashion_mnist
from fmsd_nb.app import load_pretrained
from fmsd_nb.training import CheckpointError
from fmsd_nb.metrics import (default_classifier, reference_features, features, generate_set, gaussian_fit,
                             frechet_terms, class_accuracy, vae_reconstruct)

def load(folder):
    "A pipeline with the shipped default sampler settings, whatever folder its weights come from"
    pipe = load_pretrained(folder)
    if folder is not None: pipe.defaults = load_pretrained().defaults
    return pipe

def reference():
    "The shipped classifier and the Gaussian fit of its test-set features"
    clf = default_classifier()
    return clf, gaussian_fit(reference_features(clf))

def terms(f, ref_fit):
    m, c = frechet_terms(*gaussian_fit(f), *ref_fit)
    return f'FID {m + c:.3f} = mean term {m:.3f} + covariance term {c:.3f}'

def split(a):
    "FID against the test set, split into its mean and covariance terms, at N = 10*per_class"
    pipe, (clf, ref) = load(a.weights), reference(); n = 10*a.per_class
    for kw in [dict(), dict(guidance=1.5), dict(guidance=1.0)]:
        imgs, _ = generate_set(pipe, a.per_class, **pipe.settings(**kw))
        print(f'generated {json.dumps(kw) if kw else "(default settings)"}: {terms(features(imgs, clf), ref)}', flush=True)
    x, _ = load_fashion_mnist('train'); x = x[:n]
    with torch.no_grad(): rec = vae_reconstruct(pipe.vae, x).clamp(-1, 1)
    print(f'VAE reconstructions of {n} training images: {terms(features(rec, clf), ref)}')
    print(f'{n} real training images: {terms(features(x, clf), ref)}')

def generated_latents(pipe, per_class, **kw):
    "A balanced generated set's latents (N,4*7*7) as the pipeline decodes them, and its labels"
    zs, decode = [], pipe.vae.from_latent
    pipe.vae.from_latent = lambda z: (zs.append(z.detach().cpu()), decode(z))[1]
    try: _, labels = generate_set(pipe, per_class, **pipe.settings(**kw))
    finally: pipe.vae.from_latent = decode
    return torch.cat(zs).flatten(1), labels

def class_spread(z, labels):
    "Mean standard deviation of the latent's dimensions within each class, (10,)"
    return torch.stack([z[labels == c].std(0).mean() for c in range(N_CLASSES)])

def spread(a):
    "Within-class spread of generated latents, as a fraction of the real latents' (20,000 training images)"
    pipe = load(a.weights)
    x, y = load_fashion_mnist('train')
    with torch.no_grad(): real = class_spread(pipe.vae.to_latent(x[:20000]).flatten(1).cpu(), y[:20000])
    classic = dict(spacing='trailing', guidance_interval='all')
    for kw in [dict(), dict(guidance=1.5), dict(guidance=1.0), dict(steps=20), dict(sampler='ddim', steps=100, **classic),
               dict(sampler='ddim', steps=100, guidance=1.0, **classic)]:
        r = class_spread(*generated_latents(pipe, a.per_class, **kw))/real
        print(f'{json.dumps(kw) if kw else "(default settings)"}: mean {r.mean():.2f}, per class',
              ' '.join(f'{c.split("/")[0]} {v:.2f}' for c, v in zip(CLASSES, r.tolist())), flush=True)

class AutoGuided(nn.Module):
    "Stands in for a UNet under classifier-free guidance, answering the unconditional half with `bad`'s conditional output"
    def __init__(self, good, bad): super().__init__(); self.good, self.bad = good, bad
    def forward(self, x, t, labels):
        b = len(x)//2
        if len(x) % 2 == 0 and (labels[b:] == N_CLASSES).all() and (labels[:b] < N_CLASSES).all():  # guided_output's doubled batch
            return torch.cat([self.good(x[:b], t[:b], labels[:b]), self.bad(x[b:], t[b:], labels[:b])])
        return self.good(x, t, labels)

def autoguide(a):
    "FID and class accuracy with classifier-free guidance and with autoguidance by BAD, default sampler, N = 10*per_class"
    pipe, bad, (clf, ref) = load(a.good), load_pretrained(a.bad), reference()
    plain, auto = pipe.unet, AutoGuided(pipe.unet, bad.unet).eval()
    for mode, w in [('classifier-free', None)] + [('autoguidance', w) for w in a.guidance]:
        pipe.unet = auto if mode == 'autoguidance' else plain
        t0 = time.time(); imgs, labels = generate_set(pipe, a.per_class, **pipe.settings(guidance=w)); secs = time.time() - t0
        f = features(imgs, clf); acc, per = class_accuracy(f, labels, model=clf); worst = min(per, key=per.get)
        print(f'{mode}, guidance {w or pipe.defaults["guidance"]}: {terms(f, ref)}; class accuracy {acc:.1%}, '
              f'worst {worst} {per[worst]:.1%} ({secs:.0f} s)', flush=True)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='what', required=True)
    for name, f, per in [('split', split, 200), ('spread', spread, 100), ('autoguide', autoguide, 200)]:
        s = sub.add_parser(name, help=f.__doc__); s.set_defaults(run=f)
        s.add_argument('--per_class', type=int, default=per, help=f'images per class (default {per})')
        if name == 'autoguide':
            s.add_argument('good', help='model folder to sample from'); s.add_argument('bad', help='weaker model folder, same VAE')
            s.add_argument('--guidance', type=float, nargs='+', default=[1.5, 2.0, 3.0], help='autoguidance scales')
        else: s.add_argument('--weights', default=None, help='model folder (default: the shipped weights)')
    a = p.parse_args(); torch.manual_seed(0)
    try: a.run(a)
    except (CheckpointError, ValueError, FileNotFoundError) as e:  # a missing or damaged model folder, a bad setting
        print(f'quality_gap.py: error: {e}', file=sys.stderr); sys.exit(2)
    except KeyboardInterrupt: print('quality_gap.py: interrupted (it writes no files, so nothing is lost)', file=sys.stderr); sys.exit(130)

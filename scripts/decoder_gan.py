"""A lever screened for issue 14: fine-tune a trained VAE's decoder with an adversarial term, encoder frozen.

    python scripts/decoder_gan.py SRC OUT [--epochs 1] [--adv 0.1] [--noise 0.1] [--lr 2e-4] [--bs 128]

SRC is a model folder (`config.json` and `vae.safetensors`, as `fmsd_train` writes at the end of a run). The decoder is trained
on the frozen encoder's mean latents, noised by `noise` times their standard deviation, with MSE plus `adv` times a
hinge loss against a small patch discriminator (as Stable Diffusion's autoencoder does). The encoder, and so the
latent space a UNet was trained on, does not change. OUT is SRC's model folder (`copy_model`, without its student)
with the new VAE (so it samples with SRC's UNet); the script prints the test MSE and the VAE
ceiling (FID of reconstructions) at 2,000 images, beside SRC's."""
import argparse, json, time
from pathlib import Path
import torch, torch.nn as nn, torch.nn.functional as F
from fastprogress.fastprogress import progress_bar
from fmsd_nb.core import CheckpointError, save_tensors
from fmsd_nb.folder import copy_model
from fmsd_nb.vae import VAE, load_vae
from fmsd_nb.data import load_fashion_mnist, Batches
from fmsd_nb.metrics import floor_and_ceiling, vae_reconstruct
from fmsd_nb.training import encode_dataset

class PatchD(nn.Module):
    "A small patch discriminator: one logit for each 7x7 position"
    def __init__(self, ch=32):
        super().__init__()
        act = lambda: nn.LeakyReLU(0.2)
        self.net = nn.Sequential(nn.Conv2d(1, ch, 4, 2, 1), act(), nn.Conv2d(ch, 2*ch, 4, 2, 1), nn.GroupNorm(8, 2*ch), act(),
                                 nn.Conv2d(2*ch, 2*ch, 3, 1, 1), nn.GroupNorm(8, 2*ch), act(), nn.Conv2d(2*ch, 1, 3, 1, 1))
    def forward(self, x): return self.net(x)

def measure(vae:VAE)->dict:
    xt = load_fashion_mnist('test')[0][:2000]
    mse = F.mse_loss(vae_reconstruct(vae, xt), xt).item()
    c = floor_and_ceiling(torch.arange(10).repeat_interleave(200), vae)['ceiling']
    return dict(test_mse=round(mse, 5), ceiling_fid=round(c['fid'], 4), ceiling_acc=round(c['class_acc'], 4))

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('src', type=Path); p.add_argument('out', type=Path)
    for k, v in dict(epochs=1, adv=0.1, noise=0.1, lr=2e-4, bs=128).items(): p.add_argument(f'--{k}', type=type(v), default=v)
    a = p.parse_args()
    torch.manual_seed(0)
    try: vae = load_vae(a.src)
    except CheckpointError as e: p.error(str(e))  # one line and exit code 2
    before = measure(vae)
    x, _ = load_fashion_mnist('train')
    mu = encode_dataset(vae, x, progress=False)[0]
    std, D, g = mu.std(), PatchD(), torch.Generator().manual_seed(0)
    opt_g = torch.optim.Adam(vae.decoder.parameters(), a.lr, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), a.lr, betas=(0.5, 0.9))
    vae.train(); t0 = time.time()
    for epoch in range(a.epochs):
        for (ib,) in progress_bar(list(Batches(torch.arange(len(x)), bs=a.bs, seed=epoch))):
            xb, z = x[ib], mu[ib]
            z = z + a.noise*std*torch.randn(z.shape, generator=g)
            rec = vae.decode(z)
            d_loss = F.relu(1 - D(xb)).mean() + F.relu(1 + D(rec.detach())).mean()
            opt_d.zero_grad(); d_loss.backward(); opt_d.step()
            g_loss = F.mse_loss(rec, xb) - a.adv*D(rec).mean()
            opt_g.zero_grad(); g_loss.backward(); opt_g.step()
    minutes = (time.time() - t0)/60
    copy_model(a.src, a.out, extras=False)  # SRC's model folder, without the networks later chapters added
    save_tensors(vae.state_dict(), a.out/'vae.safetensors')  # then the new decoder (the encoder, so the scale, is SRC's)
    print(json.dumps(dict(src=str(a.src), out=str(a.out), args={k: v for k, v in vars(a).items() if k not in ('src', 'out')},
                          minutes=round(minutes, 1), before=before, after=measure(vae))))

if __name__ == '__main__': main()

"""What a wheel of the package carries from `fmsd_nb/weights`: the shipped model's files, and nothing a command may
leave there. `fmsd_train --out fmsd_nb/weights` and `fmsd_distill --out fmsd_nb/weights` write the developers' model
into the package folder, and a run stopped by Ctrl-C leaves its checkpoint beside it (up to ~100 MB). The wheel is
built from a copy of the files git tracks, with those leftovers added, as a release would be built from a checkout,
and with the list of files an earlier build of that checkout left behind (`fmsd_nb.egg-info/SOURCES.txt`)."""
import shutil, subprocess, sys, zipfile
from pathlib import Path
import pytest

from fmsd_nb.distill import DMD_STATE
from fmsd_nb.student import PAIRS_STATE, _PAIRS_TRAIN

ROOT = Path(__file__).parents[1]
# what each command may leave in the folder it writes: the trainer's checkpoints, latent cache and config, the two
# distillation methods' checkpoints, and an atomic write's temporary file (`atomic_write`)
LEFTOVERS = ['vae_state.safetensors', 'unet_state.safetensors', 'latents.safetensors', 'train_config.json',
             DMD_STATE, PAIRS_STATE, _PAIRS_TRAIN, '.student.0123456789abcdef.tmp123.safetensors', '.config.tmp123.json']

def tracked_weights()->set:
    out = subprocess.run(['git', 'ls-files', 'fmsd_nb/weights'], cwd=ROOT, capture_output=True, text=True, check=True)
    return {Path(f).name for f in out.stdout.split()}

def test_leftovers_are_not_tracked():
    "git keeps the shipped files and ignores every leftover (`.gitignore` lists the same files as package_data)"
    shipped = tracked_weights()
    assert {'config.json', 'vae.safetensors', 'unet.safetensors'} <= shipped
    assert any(f.startswith('student.') for f in shipped)
    names = [f'fmsd_nb/weights/{f}' for f in LEFTOVERS + sorted(shipped)]
    out = subprocess.run(['git', 'check-ignore', '--no-index', *names], cwd=ROOT, capture_output=True, text=True)
    assert set(out.stdout.split()) == {f'fmsd_nb/weights/{f}' for f in LEFTOVERS}

def test_wheel_carries_the_shipped_files_only(tmp_path):
    shipped, src = tracked_weights(), tmp_path/'src'
    files = subprocess.run(['git', 'ls-files'], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (ROOT/f).is_file(): (src/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy(ROOT/f, src/f)
    for f in LEFTOVERS: (src/'fmsd_nb/weights'/f).write_bytes(b'a checkpoint')
    # a checkout built before keeps setuptools' list of the files it shipped then; no leftover may ship through it
    (src/'fmsd_nb.egg-info').mkdir()
    (src/'fmsd_nb.egg-info'/'SOURCES.txt').write_text('\n'.join(f'fmsd_nb/weights/{f}' for f in LEFTOVERS) + '\n')
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w',
                        str(tmp_path/'dist'), str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    [whl] = (tmp_path/'dist').glob('fmsd_nb-*.whl')
    names = zipfile.ZipFile(whl).namelist()
    assert {Path(n).name for n in names if n.startswith('fmsd_nb/weights/')} == shipped
    assert 'fmsd_nb/core.py' in names  # the package itself is there

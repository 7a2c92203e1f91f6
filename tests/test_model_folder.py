"""Writing a student into a model folder is one step: a process killed with SIGKILL at any moment of the write leaves
the folder with the old student and its old `config.json` entry, or with the new student and its new entry, never a
mix, and never a folder that does not load. The writer runs in a child process that is stopped at chosen points of
the write (by wrapping the functions it calls) and at random moments, then killed."""
import os, random, signal, subprocess, sys, time
from pathlib import Path
import pytest, torch

from fmsd_nb.core import WEIGHTS_DIR, read_model_config, save_tensors, load_tensors
from fmsd_nb.folder import copy_model, load_network, load_model

CHILD = r'''
import json, sys, time
from pathlib import Path
import fmsd_nb.core as core, fmsd_nb.folder as folder_mod
from fmsd_nb.core import read_model_config, load_weights
from fmsd_nb.folder import copy_model, load_network
folder, weights, mark, point = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def pause(): print('paused', flush=True); time.sleep(600)
if point in ('vae', 'student'):  # halfway through writing that file (its temporary file)
    real_save = core.save_file
    def save_file(ts, path, metadata=None):
        real_save(ts, path, metadata=metadata)
        if Path(path).name.startswith(f'.{point}'): Path(path).write_bytes(Path(path).read_bytes()[:1000]); pause()
    core.save_file = save_file
if point in ('before config', 'config'):  # the new weights are written; config.json not yet, or half of it
    real_json = folder_mod.save_json
    def save_json(obj, path, **kw):
        if point == 'before config': pause()
        with core.atomic_write(path) as tmp: tmp.write_text(json.dumps(obj)[:300]); pause()
    folder_mod.save_json = save_json
if point == 'cleanup':  # config.json names the new file; the old one is not removed yet
    real_unlink = Path.unlink
    def unlink(self, missing_ok=False):
        if self.name.startswith('student.'): pause()
        return real_unlink(self, missing_ok=missing_ok)
    Path.unlink = unlink
meta = read_model_config(folder)
net = load_weights(load_network(folder, meta, 'student'), weights)
entry = {k: v for k, v in meta['student'].items() if k not in ('file', 'unet')} | {'mark': mark}
print('writing', flush=True)
copy_model(folder, folder, networks={'student': (net, entry)})
print('done', flush=True)
'''

@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    "A model folder with student A (marked 'A'), and the weights of students A and B (A + 0.5)"
    d = tmp_path_factory.mktemp('folder')
    (d/'child.py').write_text(CHILD)
    meta = read_model_config(WEIGHTS_DIR)
    a = load_network(WEIGHTS_DIR, meta, 'student')
    save_tensors(a.state_dict(), d/'A.safetensors', half=True)
    save_tensors({k: v + 0.5 if v.is_floating_point() else v for k, v in a.state_dict().items()}, d/'B.safetensors', half=True)
    entry = {k: v for k, v in meta['student'].items() if k not in ('file', 'unet')} | {'mark': 'A'}
    copy_model(WEIGHTS_DIR, d/'model', extras=False, networks={'student': (a.half(), entry)})
    return d

def check(d):
    "The folder loads, and its student's weights are those of the student its entry names; return that mark"
    folder = d/'model'
    meta = read_model_config(folder)
    mark = meta['student']['mark']
    got = load_network(folder, meta, 'student').state_dict()
    want, _ = load_tensors(d/f'{mark}.safetensors', float32=True)
    assert all(torch.equal(got[k], want[k]) for k in want), f'the student is not the one its entry ({mark}) names'
    load_model(folder)  # the VAE and the UNet are whole
    return mark

def write(d, mark, point='none', delay=None):
    "Run the writer of student `mark`; stop it at `point`, or after `delay` seconds, and kill it; True if it finished"
    p = subprocess.Popen([sys.executable, str(d/'child.py'), str(d/'model'), str(d/f'{mark}.safetensors'), mark, point],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if delay is not None: time.sleep(delay)
    elif point != 'none':
        lines = []
        while (line := p.stdout.readline()) and line.strip() != 'paused': lines.append(line)
        assert line.strip() == 'paused', (lines, p.stderr.read())
    if point != 'none' or delay is not None: p.send_signal(signal.SIGKILL)
    out, err = p.communicate(timeout=120)
    assert p.returncode in (0, -signal.SIGKILL), err
    return p.returncode == 0

@pytest.mark.parametrize('point', ['vae', 'student', 'before config', 'config', 'cleanup'])
def test_killed_at_each_point(setup, point):
    before = check(setup)
    other = 'B' if before == 'A' else 'A'
    write(setup, other, point)
    after = check(setup)
    assert after == (other if point == 'cleanup' else before), (point, before, after)  # committed only once config.json is

def test_killed_at_random_moments(setup):
    rng, t0 = random.Random(0), time.time()
    mark = check(setup)
    assert write(setup, 'B' if mark == 'A' else 'A')  # one whole write, timed
    took, mark = time.time() - t0, check(setup)
    for _ in range(6):
        write(setup, 'B' if mark == 'A' else 'A', delay=rng.uniform(0.5*took, 1.05*took))
        mark = check(setup)

def test_a_whole_write_leaves_one_student_file(setup):
    mark = check(setup)
    assert write(setup, 'B' if mark == 'A' else 'A')
    meta = read_model_config(setup/'model')
    assert sorted(f.name for f in (setup/'model').iterdir() if not f.name.startswith('.')) == \
        sorted(['config.json', 'vae.safetensors', 'unet.safetensors', meta['student']['file']])

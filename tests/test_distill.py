"""The distillation commands as a user runs them, each in a new process: `fmsd_distill` writes a model folder with a student,
`fmsd_sample --sampler student` reads it and makes the same images in two processes, a damaged student file is one
line on stderr and exit code 2, and with no folder to write `fmsd_distill` refuses before any work, leaving the
package's own weights alone."""
import json, subprocess, sys, tempfile
from pathlib import Path
import numpy as np
import pytest

def run(command, *args):
    "Run one of the package's commands in a new Python process from a script file, as its console script would"
    module = {'fmsd_distill': 'student', 'fmsd_sample': 'app'}[command]
    script = Path(tempfile.mkdtemp())/f'{command}.py'  # (`python -c` would not do: `call_parse` reads argv only from a script)
    script.write_text(f'import sys\nfrom fmsd_nb.{module} import {command}\nsys.exit({command}())\n')
    return subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True, text=True, timeout=300)

@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    "A model folder with a student, written by `fmsd_distill --preset tiny`"
    out = tmp_path_factory.mktemp('distill')/'model'
    r = run('fmsd_distill', '--out', out, '--preset', 'tiny')
    assert r.returncode == 0, r.stderr
    student = json.loads((out/'config.json').read_text())['student']['file']
    assert (out/student).is_file() and (out/'unet.safetensors').is_file()
    return out

def test_student_same_images_in_two_processes(folder, tmp_path):
    for steps in (1, 2):
        outs = [tmp_path/f'{steps}_{i}.npz' for i in range(2)]
        for o in outs:
            r = run('fmsd_sample', '--weights', folder, '--sampler', 'student', '--steps', steps, '--classes', 'bag,coat',
                    '--per_class', 3, '--seed', 7, '--out', o)
            assert r.returncode == 0, r.stderr
        a, b = (np.load(o)['images'] for o in outs)
        assert a.shape == (6, 28, 28) and np.array_equal(a, b)

def test_damaged_student_is_one_line_and_exit_2(folder, tmp_path):
    bad = tmp_path/'bad'
    bad.mkdir()
    for f in folder.iterdir(): (bad/f.name).write_bytes(f.read_bytes())
    student = json.loads((bad/'config.json').read_text())['student']['file']
    (bad/student).write_bytes((folder/student).read_bytes()[:200])
    r = run('fmsd_sample', '--weights', bad, '--out', tmp_path/'x.png')
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f'{student} is not a valid safetensors file' in r.stderr
    assert not (tmp_path/'x.png').exists()

def test_bad_requests(folder, tmp_path):
    for args, msg in [(['--sampler', 'student', '--steps', 3], 'the student was distilled for'),
                      (['--sampler', 'student', '--guidance', 2], 'guidance must be 1')]:
        r = run('fmsd_sample', '--weights', folder, '--out', tmp_path/'x.png', *args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and msg in r.stderr, r.stderr
    r = run('fmsd_distill', '--weights', tmp_path/'nothing', '--out', tmp_path/'o')
    assert r.returncode == 2 and 'no such model folder' in r.stderr and not (tmp_path/'o').exists()

def test_no_folder_to_write_is_refused():
    from fmsd_nb.core import WEIGHTS_DIR
    before = {f.name: f.stat().st_mtime_ns for f in WEIGHTS_DIR.iterdir()}
    for args in ([], ['--weights', WEIGHTS_DIR]):
        r = run('fmsd_distill', '--preset', 'tiny', *args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and '--out' in r.stderr, r.stderr
    assert {f.name: f.stat().st_mtime_ns for f in WEIGHTS_DIR.iterdir()} == before

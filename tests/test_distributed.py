"""Training under torchrun (DistributedDataParallel) on this machine's CPU: two processes joined by gloo, the `tiny` preset.

- a 2-process run ends with the weights of a 1-process run (same seed, same global batch);
- `kill -9` of one process in the middle of an epoch ends the other cleanly with the last checkpoint intact, and
  `--resume` ends with exactly the weights of a run that was never stopped;
- Ctrl-C stops both processes at the same step, after one checkpoint;
- a bad launch (a batch that does not divide by the processes, a process that cannot reach the others) ends with
  one line and exit code 2, never a hang; under torchrun the line is there every time, also on a busy CPU."""
import os, shutil, signal, socket, subprocess, sys, time
from pathlib import Path
import pytest, torch
from fmsd_nb.core import load_tensors
from fmsd_nb.trainer import train_progress
from fmsd_nb.folder import load_model
from fmsd_nb.data import load_fashion_mnist

BIN = Path(sys.executable).parent
TORCHRUN, FMSD_TRAIN = str(BIN/'torchrun'), str(BIN/'fmsd_train')
pytestmark = pytest.mark.skipif(not Path(TORCHRUN).exists() or not Path(FMSD_TRAIN).exists(),
                                reason='needs the installed package (pip install -e .) and torchrun')
EPOCHS = '12'  # 96 UNet steps of the tiny preset: long enough to stop in the middle

def train_cmd(out, *args, nproc=2):
    return [TORCHRUN, '--nproc_per_node', str(nproc), FMSD_TRAIN, '--preset', 'tiny', '--out', str(out), '--quiet', *args]

def run(cmd, timeout=300, env=None):
    env = {**(env or os.environ), 'OMP_NUM_THREADS': '1'}  # the tiny model needs no more, and a busy machine makes more threads slow
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return r.returncode, r.stdout, '\n'.join(l for l in r.stderr.splitlines() if l.startswith('fmsd_train'))

def progress(out)->dict: return train_progress(Path(out)/'unet_state.safetensors')

def max_diff(a:Path, b:Path, name:str)->float:
    ta, tb = load_tensors(a/f'{name}.safetensors')[0], load_tensors(b/f'{name}.safetensors')[0]
    return max((ta[k] - tb[k]).abs().max().item() for k in ta)

@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    "An uninterrupted 2-process run and a 1-process run, both of EPOCHS epochs"
    d = tmp_path_factory.mktemp('ddp')
    code, out, err = run(train_cmd(d/'two', '--epochs', EPOCHS)); assert code == 0, err
    code, out, err = run([FMSD_TRAIN, '--preset', 'tiny', '--out', str(d/'one'), '--quiet', '--epochs', EPOCHS]); assert code == 0, err
    return d

def test_two_processes_train_as_one(runs):
    assert max_diff(runs/'one', runs/'two', 'unet') < 1e-4  # the same weights, up to the order of float additions
    assert progress(runs/'two')['losses'][:5] == pytest.approx(progress(runs/'one')['losses'][:5], rel=1e-5)
    # the VAE computes the same; its weights agree but for two biases that feed a one-channel GroupNorm, whose gradient
    # is zero up to rounding (Adam turns rounding into steps of its learning rate): they change nothing it computes
    x = load_fashion_mnist('test')[0][:200]
    (v1, _, _), (v2, _, _) = load_model(runs/'one'), load_model(runs/'two')
    with torch.no_grad(): assert (v1.decode(v1.encode(x)[0]) - v2.decode(v2.encode(x)[0])).abs().max() < 1e-4

def _start_and_stop(out, how):
    "Start a 2-process run that checkpoints every step; once it is 40 UNet steps in and in the middle of an epoch, kill one process or Ctrl-C both"
    p = subprocess.Popen(train_cmd(out, '--epochs', EPOCHS, '--ckpt_minutes', '0'), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    t0 = time.time()
    while time.time() - t0 < 240:
        try:
            s = progress(out)['step']
            if s >= 40 and 2 <= s % 8 <= 5: break  # mid-epoch: the next checkpoint (a step later) is mid-epoch too
        except Exception: pass
        if p.poll() is not None: break
        time.sleep(0.05)
    workers = subprocess.run(['pgrep', '-P', str(p.pid)], capture_output=True, text=True).stdout.split()
    assert len(workers) == 2, workers
    if how == 'kill': os.kill(int(workers[-1]), signal.SIGKILL)
    else: os.killpg(p.pid, signal.SIGINT)  # Ctrl-C in a terminal signals the whole process group
    _, err = p.communicate(timeout=120)
    return p.returncode, [l for l in err.splitlines() if l.startswith('fmsd_train')]

def test_kill_one_process_then_resume(runs, tmp_path):
    code, lines = _start_and_stop(tmp_path/'killed', 'kill')
    assert code != 0 and len(lines) == 1 and 'another process of the run stopped' in lines[0] and 'rerun with --resume' in lines[0], lines
    step = progress(tmp_path/'killed')['step']
    assert 40 <= step < 96 and step % 8, step  # a checkpoint from the middle of an epoch, intact
    code, out, err = run(train_cmd(tmp_path/'killed', '--epochs', EPOCHS, '--resume')); assert code == 0, err
    assert max_diff(tmp_path/'killed', runs/'two', 'unet') == 0 and max_diff(tmp_path/'killed', runs/'two', 'vae') == 0

def test_ctrl_c_stops_both_at_one_step(tmp_path):
    code, lines = _start_and_stop(tmp_path/'sigint', 'int')
    assert code != 0 and len(lines) == 1 and 'interrupted at unet step' in lines[0] and 'rerun with --resume' in lines[0], lines
    assert f"step {progress(tmp_path/'sigint')['step']}/" in lines[0]  # the step it says is the step it saved

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def launch_alone(rank, n, tmp_path, *args):
    "One process of an `n`-process run, started as torchrun would start it (its environment), with no others"
    env = {**os.environ, 'WORLD_SIZE': str(n), 'RANK': str(rank), 'LOCAL_RANK': str(rank), 'MASTER_ADDR': '127.0.0.1',
           'MASTER_PORT': str(_free_port())}
    return run([FMSD_TRAIN, '--preset', 'tiny', '--out', str(tmp_path/f'alone{rank}'), '--quiet', *args], timeout=120, env=env)

@pytest.mark.parametrize('rank', [0, 1])
def test_a_process_that_cannot_reach_the_others(tmp_path, rank):
    t0 = time.time()
    code, out, err = launch_alone(rank, 2, tmp_path, '--dist_timeout', '5')
    assert code == 2 and len(err.splitlines()) == 1 and f'process {rank} of 2 could not reach the others' in err, err
    assert time.time() - t0 < 60

BAD_BS = 'fmsd_train: error: bs {} is not divisible by the {} processes: each takes an equal part of every batch'

def test_batch_not_divisible_by_the_processes(tmp_path):
    code, out, err = launch_alone(0, 3, tmp_path)  # tiny's batch of 64 does not divide by 3: refused before joining
    assert code == 2 and err == BAD_BS.format(64, 3)
    t0 = time.time()  # another process waits for torchrun to end it; with no torchrun it says it after the wait
    code, out, err = launch_alone(1, 3, tmp_path)
    assert code == 2 and err == BAD_BS.format(64, 3) and time.time() - t0 >= 10

def _busy(n):
    "`n` processes that keep the CPU busy"
    return [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(n)]

def test_bad_launch_says_why_under_load(tmp_path):
    "Under torchrun the reason reaches the terminal every time, also with the CPU busy (a race lost it 2 times in 5)"
    hogs = _busy(6)
    try:
        for i in range(5):
            code, out, err = run(train_cmd(tmp_path/f'bad{i}', '--bs', '63'), timeout=180)
            lines = err.splitlines()
            assert code != 0 and lines and set(lines) == {BAD_BS.format(63, 2)}, (i, err)
    finally:
        for h in hogs: h.kill(); h.wait()

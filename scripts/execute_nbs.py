#!/usr/bin/env python
"""Run notebooks in place so that the docs pages carry their figures: python scripts/execute_nbs.py [nbs/05_training.ipynb ...]

Cells run as `nbdev_test` runs them: `#| eval: false` and flagged cells (`#| slow`) are skipped (their old outputs are
cleared), a failing cell stops the run and nothing is written. Then run `nbdev_clean`."""
import re, sys, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from fastcore.xtras import working_directory

def _skip(cell, flags=('slow',)):
    if cell.cell_type != 'code': return True
    if 'nbdev_export(' in cell.source: return True
    ds = re.findall(r'^\s*#\|\s*(.+?)\s*$', cell.source, re.M)
    if any(re.fullmatch(r'eval:\s*false', d, re.I) for d in ds) or any(d in flags for d in ds):
        cell.outputs = []; return True
    return False

def run(fn:Path):
    nb, t0 = read_nb(fn), time.time()
    with working_directory(fn.parent): CaptureShell(fn).run_all(nb, exc_stop=True, preproc=_skip)
    write_nb(nb, fn)
    print(f'{fn}: {time.time() - t0:.0f} s', flush=True)

if __name__ == '__main__':
    for f in sys.argv[1:] or sorted(Path('nbs').glob('*.ipynb')): run(Path(f))

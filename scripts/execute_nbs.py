#!/usr/bin/env python
"""Run notebooks in place so that the docs pages carry their figures: python scripts/execute_nbs.py [--no-slow] [nbs/06_training.ipynb ...]

Every cell runs as `nbdev_test --flags slow` runs it: cells marked `#| slow` run too (their figures are what the prose
promises), `#| eval: false` cells never run (their outputs are cleared), and a failing cell stops the run with nothing
written. `--no-slow` skips the slow cells and keeps their old outputs. Then run `nbdev_clean`."""
import re, sys, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from fastcore.xtras import working_directory

def _directives(cell)->list[str]: return re.findall(r'^\s*#\|\s*(.+?)\s*$', cell.source, re.M)

def _skip(cell, skip_flags=()):
    "Whether `cell` is not run: markdown, the export cell, `eval: false` (outputs cleared), or a skipped flag (outputs kept)"
    if cell.cell_type != 'code' or 'nbdev_export(' in cell.source: return True
    ds = _directives(cell)
    if any(re.fullmatch(r'eval:\s*false', d, re.I) for d in ds): cell.outputs = []; return True
    return any(d in skip_flags for d in ds)

def run(fn:Path, skip_flags=()):
    nb, t0 = read_nb(fn), time.time()
    with working_directory(fn.parent): CaptureShell(fn).run_all(nb, exc_stop=True, preproc=lambda c: _skip(c, skip_flags))
    write_nb(nb, fn)
    print(f'{fn}: {time.time() - t0:.0f} s', flush=True)

if __name__ == '__main__':
    args = sys.argv[1:]
    flags = ('slow',) if '--no-slow' in args else ()
    for f in [a for a in args if not a.startswith('--')] or sorted(Path('nbs').glob('*.ipynb')): run(Path(f), flags)

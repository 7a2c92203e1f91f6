"Every notebook in nbs/ is a test, run through nbdev's own test machinery (`nbdev.test.test_nb`)."
from pathlib import Path
import pytest
from nbdev.config import get_config
from nbdev import test as nbdev_test  # (imported as a module, so pytest doesn't collect `test_nb` itself)

NBS = sorted(Path(__file__).resolve().parent.parent.joinpath('nbs').glob('*.ipynb'))

@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_notebook(nb, request):
    "Run the notebook's cells (those flagged in settings.ini's tst_flags only when asked with --flags)"
    force = request.config.getoption('--flags').split()
    skip = [f for f in get_config().tst_flags.split() if f not in force]
    ok, secs = nbdev_test.test_nb(nb, skip_flags=skip, force_flags=force, showerr=True)
    assert ok, f'{nb.name} failed after {secs:.0f}s (traceback above)'

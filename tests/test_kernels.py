"""The runner's kernels: the next notebook's kernel starts, and imports that notebook's modules, ahead of its turn;
the notebook still runs in a fresh kernel with nothing of the warm-up in its namespace."""
import papermill
import pytest

from workbench.kernels import KernelStarter, imported_modules
from workbench.nbtools import write_notebook


def test_imported_modules_reads_top_level_imports_and_passes_over_magics(tmp_path):
    nb = tmp_path / "00_x.ipynb"
    write_notebook(nb, [
        ("code", "%matplotlib inline\nimport json, os.path as osp\nfrom collections import abc, OrderedDict"),
        ("code", "def f():\n    import csv  # inside a function: not at the top level\n"),
        ("code", "from . import nothing\nfrom decimal import *\nimport json"),
        ("code", "this is not python"),
    ])
    assert imported_modules(nb) == ["json", "os.path", "collections", "collections.abc",
                                    "collections.OrderedDict", "decimal"]


@pytest.mark.slow
def test_a_started_kernel_has_the_notebooks_modules_before_its_first_cell_and_no_warm_up_name(tmp_path):
    nb = tmp_path / "00_x.ipynb"
    # html.parser is imported by nothing that starts a kernel; the notebook imports it only in its last cell
    write_notebook(nb, [
        ("code", "import sys\nprint(sorted(n for n in ('html.parser', 'xml.dom.minidom') if n in sys.modules))\n"
                 "print([n for n in dir() if 'warm' in n or n == 'importlib'])"),
        ("code", "import html.parser"),
    ])
    starter = KernelStarter()
    km = starter.start(nb)
    try:
        out = papermill.execute_notebook(str(nb), str(tmp_path / "out.ipynb"), km=km, progress_bar=False)
    finally:
        starter.stop(km)
    printed = "".join(o.get("text", "") for o in out.cells[0].outputs)
    assert printed.splitlines() == ["['html.parser']", "[]"]
    assert not km.has_kernel

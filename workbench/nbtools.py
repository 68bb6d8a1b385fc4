"""Writing notebooks from code (source notebooks are committed without outputs)."""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def write_notebook(path: str | Path, cells: list[tuple[str, str]]) -> Path:
    """Write a notebook from ``(kind, source)`` pairs; kind is ``md``, ``code`` or ``params``
    (a code cell tagged ``parameters`` for papermill). Returns the path."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, (kind, src) in enumerate(cells):
        src = src.strip("\n")
        if kind == "md":
            cell = new_markdown_cell(src)
        else:
            cell = new_code_cell(src)
            if kind == "params":
                cell.metadata["tags"] = ["parameters"]
        cell["id"] = f"cell-{i:02d}"
        nb.cells.append(cell)
    path = Path(path)
    nbformat.write(nb, str(path))
    return path


PARAMS_CELL = '''# Parameters (papermill replaces this cell). Run as-is in JupyterLab for a small, fast run.
params = "default"   # params file: a path or a name in params/
run_dir = None       # run folder; None = outputs/interactive-<params name>
overrides = {}       # e.g. {"data": {"synthetic": {"n_customers": 500}}}'''

START_CELL = '''%matplotlib inline
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display
from workbench.context import start

pd.set_option("display.width", 160)
ctx = start(params, run_dir, overrides)'''

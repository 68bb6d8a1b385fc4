"""Progress bars for long loops, the same in a terminal, in JupyterLab and in a notebook papermill executed.

``tqdm.auto`` would pick the widget bar in a kernel: without ipywidgets it warns ("IProgress not found"),
and with it a papermill-executed notebook keeps only the bar's first, empty state. The text bar here
writes to stderr, which the executed notebook keeps (its last state is what a reader sees) and which
``workbench run`` echoes on the command line. Updates are at most one a second, so a long loop does not
fill the notebook with thousands of lines.
"""
from __future__ import annotations

import warnings

from tqdm.std import TqdmWarning
from tqdm.std import tqdm as _text_tqdm

# libraries that import tqdm.auto (implicit) would print "IProgress not found" in every notebook: the text
# bar they fall back to is the one this package chooses on purpose
warnings.filterwarnings("ignore", message="IProgress not found", category=TqdmWarning)

#: seconds between two updates of a bar
MIN_INTERVAL = 1.0


class tqdm(_text_tqdm):  # noqa: N801 - a drop-in for tqdm.tqdm
    """``tqdm.std.tqdm`` with the package's defaults (stderr, one update a second, bars kept when done)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("mininterval", MIN_INTERVAL)
        kwargs.setdefault("leave", True)
        super().__init__(*args, **kwargs)

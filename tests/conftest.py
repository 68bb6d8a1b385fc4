"""Shared fixtures: a small synthetic shop, the shared data folder."""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def small_shop():
    """A 300-customer synthetic shop (raw, not validated)."""
    from workbench.data.synthetic import generate_shop

    return generate_shop({"n_customers": 300, "n_products": 120, "n_weeks": 52, "seed": 7})


@pytest.fixture(scope="session")
def datasets():
    """The shared real data folder; tests that need it skip when it is absent."""
    from workbench.config import datasets_dir

    d = datasets_dir()
    if not d.is_dir():
        pytest.skip(f"real data sets not found at {d}")
    return d


_PAPERMILL_WARNINGS: list[str] = []


class _Collect(logging.Handler):
    def emit(self, record):
        _PAPERMILL_WARNINGS.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture(scope="session")
def default_run(tmp_path_factory):
    """A real run of every notebook on the default params (papermill, report rendered), shared by the
    notebook and report tests; what papermill warned meanwhile is in ``papermill_warnings``."""
    from workbench.runner import run

    out = tmp_path_factory.mktemp("runs") / "default"
    logger, handler = logging.getLogger("papermill"), _Collect(logging.WARNING)
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            path = run("default", out=out)
    finally:
        logger.removeHandler(handler)
    _PAPERMILL_WARNINGS.extend(f"{w.category.__name__}: {w.message}" for w in caught
                               if "papermill" in str(w.filename))
    return path


@pytest.fixture(scope="session")
def papermill_warnings(default_run) -> list[str]:
    """papermill's log warnings and Python warnings during :func:`default_run`."""
    return list(_PAPERMILL_WARNINGS)

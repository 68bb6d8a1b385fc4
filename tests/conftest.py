"""Shared fixtures: a small synthetic shop, the shared data folder."""
from __future__ import annotations

import os
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

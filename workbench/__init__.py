"""workbench: customer analytics and product recommendation, one stage per notebook."""
from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())


def load_model(run_dir, name: str):
    """Return the fitted model ``name`` saved in a run folder (see :func:`workbench.models.load_model`)."""
    from workbench.models import load_model as load

    return load(run_dir, name)

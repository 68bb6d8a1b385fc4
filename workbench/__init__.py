"""workbench: customer analytics and product recommendation, one stage per notebook."""
from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

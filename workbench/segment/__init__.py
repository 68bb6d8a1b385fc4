"""Notebook 01, customer segmentation: RFM scores and segments (``rfm``), clusters (``clusters``, ``selection``,
``features``), CLV (``clv``).

``DEFAULTS`` are the defaults of the ``segmentation:`` block of a params file.
"""
from __future__ import annotations

from workbench.segment import clusters, clv, rfm

DEFAULTS: dict = {**rfm.DEFAULTS, "clusters": clusters.DEFAULTS, "clv": clv.DEFAULTS}

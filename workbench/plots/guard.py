"""Guards every plot uses against non-finite and empty input: a figure never fails on ``inf``, ``NaN`` or no rows.

Validation quarantines non-finite values at load, but a figure can still receive them from a derived
quantity (a log of zero, a ratio over an empty group); the guard drops them with a logged count, and an
empty panel says "no data" instead of raising inside matplotlib.
"""
from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

#: beyond this magnitude matplotlib's axis arithmetic overflows (ranges, tick steps): left out like inf
DRAWABLE = 1e150


def drawable(values) -> np.ndarray:
    """Boolean mask of the values a figure can show: finite and below :data:`DRAWABLE` in magnitude."""
    arr = np.asarray(values, dtype="float64")
    with np.errstate(invalid="ignore"):
        return np.isfinite(arr) & (np.abs(arr) < DRAWABLE)


def finite(values, what: str = "values") -> np.ndarray:
    """``values`` as a float array without NaN, ±inf or undrawable magnitudes (the number dropped is logged,
    naming ``what``)."""
    arr = np.asarray(values, dtype="float64").ravel()
    ok = drawable(arr)
    if not ok.all():
        log.warning("plot: %d non-finite %s left out of the figure (of %d)", int((~ok).sum()), what, arr.size)
    return arr[ok]


def no_data(ax, message: str = "no data to show") -> None:
    """Mark ``ax`` as empty with ``message`` in its middle (the figure is still saved)."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#666666")
    ax.set_xticks([])
    ax.set_yticks([])


def hist(ax, values, what: str, message: str | None = None, **kwargs) -> bool:
    """``ax.hist`` of the finite ``values``; an empty panel with a message when none is left. Returns whether drawn."""
    x = finite(values, what)
    if x.size == 0:
        no_data(ax, message or f"no finite {what} to show")
        return False
    bins = kwargs.pop("bins", 30)
    if not np.isscalar(bins):
        bins = finite(bins, "bin edges")
    if np.isscalar(bins) and x.min() == x.max():
        kwargs.setdefault("range", (x.min() - 0.5, x.max() + 0.5))  # one value: a visible bar, not a zero range
    ax.hist(x, bins=bins, **kwargs)
    return True

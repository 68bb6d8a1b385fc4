"""Which notebooks each notebook reads, and which notebook the runner starts next.

A notebook reads what earlier notebooks wrote (artifacts, ``metrics.json`` entries); :data:`NEEDS` lists, for each
numbered notebook, the notebooks whose outputs it reads. The runner starts a notebook once every notebook it needs
has ended, up to ``jobs`` notebooks at a time (:func:`default_jobs`), so independent notebooks share the machine's
cores; a notebook is never started beside one it reads. A notebook that is not in :data:`NEEDS` (a new one, or a
folder of notebooks of one's own) needs every notebook numbered before it, so it runs as if the notebooks ran one
after another. A needed notebook
that is not part of the run (``--only``, the params' ``notebooks:``) counts as ended: its outputs, if any, are in
the run folder already.

Every run gives the same ``metrics.json`` whatever the order the notebooks ran in, because no notebook runs beside
one whose outputs it reads, and what several notebooks write is written under the run folder's lock
(:meth:`~workbench.report.record.RunRecorder.locked`: ``metrics.json``, ``timings.json``, and the evaluation split
that notebooks 02-06 share, made by whichever needs it first). The needs were read off a run that traced every
file each notebook opened (``strace -f -e trace=openat``), and the metrics each one reads; the test suite runs the default
shop one notebook at a time and two at a time and compares the two runs' ``metrics.json`` and artifacts byte for
byte.
"""
from __future__ import annotations

import os
from collections.abc import Iterable

#: notebook (file name without ``.ipynb``) -> the prefixes of the notebooks whose outputs it reads
NEEDS: dict[str, tuple[str, ...]] = {
    "00_data_eda": (),
    # the validated shop (artifacts/data), the planted truth
    "01_rfm_segmentation": ("00",),
    "02_collaborative_filtering": ("00",),
    # ... and the segmentation's description (metrics.json: segmentation)
    "03_content_based": ("00", "01"),
    "04_market_basket": ("00",),
    # ... customer_segments (notebook 01); the tuned recommenders and the weights they computed (notebook 02)
    "05_hybrid_ablation": ("00", "01", "02"),
    # ... every recs_*.parquet: the shipped lists are the interest source of the price suggestions
    "06_dynamic_pricing": ("00", "02", "03", "04", "05"),
    # every stage's results: the evaluation report reads the whole run
    "07_evaluation_report": ("00", "01", "02", "03", "04", "05", "06", "08"),
    # ... and the suspected bots (notebook 00)
    "08_clickstream": ("00",),
}

#: the most notebooks run at once by default (each may use several cores itself: BLAS, LightGBM)
MAX_DEFAULT_JOBS = 2


def default_jobs() -> int:
    """Notebooks run at once when the caller does not say: the machine's cores, at most :data:`MAX_DEFAULT_JOBS`."""
    return max(1, min(MAX_DEFAULT_JOBS, os.cpu_count() or 1))


def prefix(notebook: str) -> str:
    """The two-digit prefix of a notebook's file name (``05_hybrid_ablation.ipynb`` -> ``05``)."""
    return os.path.basename(str(notebook))[:2]


def needs(notebook: str, in_run: Iterable[str]) -> set[str]:
    """The prefixes among ``in_run`` (the run's notebook prefixes) that ``notebook`` must wait for."""
    own = prefix(notebook)
    in_run = {prefix(nb) for nb in in_run}
    declared = NEEDS.get(os.path.basename(str(notebook)).removesuffix(".ipynb"))
    wanted = set(declared) if declared is not None else {p for p in in_run if p < own}
    return (wanted & in_run) - {own}


def next_to_start(waiting: list[str], ended: set[str], started: set[str], in_run: Iterable[str]) -> str | None:
    """Of the ``waiting`` notebooks, the one to start (or warm up) next: first those whose needs have all ended,
    then those whose needs have all at least started; in notebook order within each. None when no notebook
    qualifies (its needs are still waiting themselves)."""
    in_run = list(in_run)

    def rank(nb: str) -> tuple[int, str] | None:
        wanted = needs(nb, in_run)
        if wanted <= ended:
            return (0, prefix(nb))
        if wanted <= ended | started:
            return (1, prefix(nb))
        return None

    ranked = [(r, nb) for nb in waiting if (r := rank(nb)) is not None]
    return min(ranked)[1] if ranked else None


def ready(notebook: str, ended: set[str], in_run: Iterable[str]) -> bool:
    """Whether every notebook ``notebook`` needs has ended."""
    return needs(notebook, in_run) <= ended

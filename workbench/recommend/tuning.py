"""Choosing a recommender's parameters on validation splits carved from the TRAIN data (never the test set).

:func:`validation_search` fits one model per point of a small grid on each of a few validation splits
of the train rows and returns the mean validation metric per point; :func:`best_params` picks the best.
"""
from __future__ import annotations

import itertools
import logging
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.evaluate import metrics
from workbench.progress import tqdm
from workbench.recommend.base import Recommender
from workbench.recommend.interactions import Interactions

log = logging.getLogger(__name__)


def param_grid(grid: dict[str, list]) -> list[dict]:
    """Return every combination of a ``{param: [values]}`` grid as a list of dicts (keys sorted)."""
    keys = sorted(grid)
    return [dict(zip(keys, vals)) for vals in itertools.product(*(list(grid[k]) for k in keys))]


def validation_search(make_model: Callable[..., Recommender], grid: dict[str, list],
                      folds: Sequence[tuple[pd.DataFrame, pd.DataFrame]],
                      to_interactions: Callable[[pd.DataFrame], Interactions], k: int = 10, metric: str = "ndcg",
                      fixed: dict | None = None, fit_context: Callable[[pd.DataFrame], dict] | None = None,
                      progress: bool = True, desc: str = "validation search") -> pd.DataFrame:
    """Return one row per grid point: the params, the mean and std of validation ``metric``@k over ``folds``.

    Each fold is ``(fit_rows, validation_rows)`` carved out of the train part (never the test part);
    ``to_interactions(fit_rows)`` builds the matrix; ``make_model(**fixed, **point)`` is fitted and
    recommends ``k`` unseen products to every validation customer. ``metric`` is a column of
    :func:`~workbench.evaluate.metrics.per_customer_metrics` (precision, recall, ap, ndcg, hit, rr).
    ``progress`` shows one bar (``desc``) over every fit: grid points x folds.
    """
    points = param_grid(grid)
    if not points:
        raise ValueError("the grid is empty: give at least one value per parameter")
    if not folds:
        raise ValueError("no validation fold: the train part is too small to carve one out")
    scores = np.zeros((len(points), len(folds)))
    with tqdm(total=len(points) * len(folds), desc=desc, unit="fit", disable=not progress) as bar:
        for j, (fit_rows, val_rows) in enumerate(folds):
            inter = to_interactions(fit_rows)
            ctx = fit_context(fit_rows) if fit_context else {}
            users = val_rows[contract.CUSTOMER_ID].astype("str").unique()
            for i, point in enumerate(points):
                bar.set_postfix_str(f"fold {j + 1}/{len(folds)} {point}", refresh=False)
                model = make_model(**{**(fixed or {}), **point}).fit(inter, **ctx)
                recs = model.recommend(users, k=k)
                scores[i, j] = metrics.per_customer_metrics(val_rows, recs, k=k)[metric].mean()
                bar.update()
    out = pd.DataFrame(points)
    out[f"{metric}@{k}"] = scores.mean(axis=1)
    out[f"{metric}@{k}_std"] = scores.std(axis=1)
    log.info("validation search over %d points x %d folds: best %s", len(points), len(folds),
             out.loc[out[f"{metric}@{k}"].idxmax()].to_dict())
    return out


def best_params(results: pd.DataFrame) -> dict:
    """Return the params of the best row of a :func:`validation_search` table (ties: the first)."""
    metric = [c for c in results.columns if "@" in c and not c.endswith("_std")][0]
    pos = int(np.argmax(results[metric].to_numpy()))
    params = {c: results[c].iloc[pos] for c in results.columns if "@" not in c}
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in params.items()}

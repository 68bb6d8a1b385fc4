"""Baselines every comparison reports: random, most popular (all time) and most popular in a recent window.

They score every customer the same way (random: a fixed pseudo-random score per customer-product
pair), so the base class's seen-item exclusion is what makes their lists differ per customer.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.recommend.base import Recommender
from workbench.recommend.interactions import Interactions

log = logging.getLogger(__name__)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A vectorised 64-bit mixing function (SplitMix64 finaliser) of unsigned integers."""
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x += np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return x


class RandomRecommender(Recommender):
    """Uniform random scores, fixed per (customer row, product) and ``seed``: the floor every model must beat."""

    name = "random"

    def __init__(self, seed: int = 42):
        self.seed = seed

    def _fit(self, interactions: Interactions, **context) -> None:
        self.n_products_ = interactions.shape[1]

    def _hash_scores(self, rows: np.ndarray) -> np.ndarray:
        cols = np.arange(self.n_products_, dtype=np.uint64)
        with np.errstate(over="ignore"):
            salt = np.uint64(self.seed % (1 << 63)) * np.uint64(0x632BE59BD9B4E019)
            key = rows.astype(np.uint64)[:, None] * np.uint64(self.n_products_) + cols[None, :] + salt
        return (_splitmix64(key) >> np.uint64(11)).astype(np.float64) / float(1 << 53)

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        return self._hash_scores(np.asarray(rows) + 1)

    def _score_cold(self, n: int) -> np.ndarray:
        return self._hash_scores(np.zeros(n, dtype=np.int64))


class MostPopular(Recommender):
    """Products ranked by how many customers interacted with them, over all history or the last ``window_days``.

    With ``window_days`` the fit needs ``history=`` (the train rows with customer_id, product_id and
    timestamp); popularity then counts distinct customers per product in the window ending at the
    latest timestamp of the history (products outside the window rank after, by all-time popularity).
    """

    name = "popular"

    def __init__(self, window_days: int | None = None):
        self.window_days = window_days
        if window_days is not None:
            self.name = "popular_recent"

    def _fit(self, interactions: Interactions, history: pd.DataFrame | None = None, **context) -> None:
        pop = np.asarray(interactions.binary().sum(axis=0)).ravel().astype(np.float64)
        scores = pop / max(pop.max(), 1.0)  # all-time, in [0, 1]
        if self.window_days is not None:
            if history is None or contract.TIMESTAMP not in history.columns:
                raise ValueError("MostPopular(window_days=...) needs fit(interactions, history=train_rows) with a "
                                 f"'{contract.TIMESTAMP}' column; pass the train split, or use window_days=None")
            t = pd.to_datetime(history[contract.TIMESTAMP])
            recent = history[(t >= t.max() - pd.Timedelta(days=self.window_days)).to_numpy()]
            cnt = (recent[[contract.CUSTOMER_ID, contract.PRODUCT_ID]].astype("str").drop_duplicates()[contract.PRODUCT_ID]
                   .value_counts())
            rec = cnt.reindex(interactions.product_ids).fillna(0.0).to_numpy(dtype=np.float64)
            log.info("popular_recent: %d rows in the last %d days, %d products", len(recent), self.window_days,
                     int((rec > 0).sum()))
            scores = rec + scores / 2.0  # recent count first; all-time popularity (< 1) breaks ties
        self.scores_ = scores

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        return np.tile(self.scores_, (len(rows), 1))

    def _score_cold(self, n: int) -> np.ndarray:
        return np.tile(self.scores_, (n, 1))

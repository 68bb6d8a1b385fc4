"""The chronological hold-out protocol of notebooks 03 and 04, and a loop that evaluates fitted models on it.

Train = sales lines before one global cut-off (``ratio`` of the lines), test = the lines from it on.
The relevant items are the test (customer, product) pairs not already bought in train, for customers
known in train (a model cannot personalise for customers it never saw). The interaction matrix spans
the whole catalog, so products nobody bought in train still have a column (content can score them).
Metrics come from :mod:`workbench.evaluate.metrics`.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pandas as pd

from workbench.data import contract as C
from workbench.evaluate.metrics import evaluate_ranking
from workbench.evaluate.split import chronological_split, drop_seen_pairs
from workbench.recommend.interactions import Interactions

log = logging.getLogger(__name__)

#: the metrics every recommender row of metrics.json carries
ROW_METRICS = ("precision@10", "recall@10", "map@10", "ndcg@10", "coverage")


@dataclass
class Holdout:
    """One chronological split: train/test sales lines, relevant pairs, the train interaction matrix."""

    train: pd.DataFrame
    test: pd.DataFrame
    truth: pd.DataFrame
    interactions: Interactions
    cutoff: pd.Timestamp

    @property
    def customers(self) -> pd.Index:
        """The evaluated customers (known in train, with a relevant test pair), sorted."""
        return pd.Index(pd.unique(self.truth[C.CUSTOMER_ID])).sort_values()

    def summary(self) -> dict:
        """Counts of the split (lines, customers, relevant pairs) and its cut-off."""
        return {"cutoff": str(self.cutoff), "train_lines": len(self.train), "test_lines": len(self.test),
                "eval_customers": len(self.customers), "relevant_pairs": len(self.truth),
                "products": self.interactions.shape[1]}


def can_split(transactions: pd.DataFrame) -> bool:
    """Whether a chronological split is possible: the sales lines have at least two distinct timestamps."""
    sales = transactions[transactions[C.QUANTITY] > 0]
    return len(sales) >= 2 and pd.to_datetime(sales[C.TIMESTAMP]).nunique() >= 2


def chronological_holdout(transactions: pd.DataFrame, products: pd.DataFrame | None = None,
                          ratio: float = 0.8) -> Holdout:
    """Return the :class:`Holdout` of the sales lines at the ``ratio`` time quantile (binary interactions)."""
    sales = transactions[transactions[C.QUANTITY] > 0]
    if not can_split(sales):
        raise ValueError("chronological hold-out needs sales lines with at least two distinct timestamps "
                         "(this data has no usable dates); evaluate with another protocol")
    train, test = chronological_split(sales, ratio=ratio)
    cutoff = pd.to_datetime(test[C.TIMESTAMP]).min()
    universe = products[C.PRODUCT_ID] if products is not None else sales[C.PRODUCT_ID]
    inter = Interactions.from_transactions(train, weight="binary", products=universe)
    truth = drop_seen_pairs(test, train)[[C.CUSTOMER_ID, C.PRODUCT_ID]].astype("str").drop_duplicates()
    truth = truth[truth[C.CUSTOMER_ID].isin(inter.customer_ids)]
    truth = truth.sort_values([C.CUSTOMER_ID, C.PRODUCT_ID]).reset_index(drop=True)
    h = Holdout(train, test, truth, inter, cutoff)
    log.info("hold-out: %s", h.summary())
    return h


def evaluate_models(models: dict, holdout: Holdout, k: int = 10, **context) -> tuple[pd.DataFrame, dict, dict]:
    """Fit each model on the hold-out's train part and evaluate its top-``k`` lists.

    ``context`` is passed to every ``fit`` (``transactions``, ``products``, ``segments`` ...; each model
    takes what it needs). Returns ``(table, recs, seconds)``: metrics per model (rows) from
    :func:`evaluate_ranking`, the recommendations per model, and fit/recommend seconds per model.
    """
    rows, recs, secs = {}, {}, {}
    for name, model in models.items():  # a handful of models
        t0 = time.perf_counter()
        model.fit(holdout.interactions, **context)
        t1 = time.perf_counter()
        recs[name] = model.recommend(holdout.customers, k=k)
        t2 = time.perf_counter()
        rows[name] = evaluate_ranking(holdout.truth, recs[name], k=k, n_items=holdout.interactions.shape[1])
        secs[name] = {"fit": t1 - t0, "recommend": t2 - t1}
        log.info("%s: ndcg@%d %.4f (fit %.2fs, recommend %.2fs)", name, k, rows[name][f"ndcg@{k}"], t1 - t0, t2 - t1)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table, recs, secs


def metric_rows(table: pd.DataFrame, k: int = 10) -> dict:
    """Return ``{model: {"precision@k", "recall@k", "map@k", "ndcg@k", "coverage"}}`` for metrics.json."""
    names = [m.replace("@10", f"@{k}") for m in ROW_METRICS]
    return {str(m): {c: float(table.loc[m, c]) for c in names} for m in table.index}

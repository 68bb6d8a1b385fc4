"""Notebook 02's evaluation protocol for the recommenders of notebooks 03 and 04, and their evaluation loop.

The split, the relevant test rows and the evaluated customers are exactly those of notebook 02
(:mod:`workbench.recommend.protocol`, configured by the ``recommenders:`` params block: chronological
cut-off on the synthetic shop and Online Retail, stratified on ml-100k), so the rows these notebooks add
to ``metrics.json`` -> ``recommenders`` compare with notebook 02's and with notebook 07's recomputation
from ``artifacts/split_test.parquet``. On top of the protocol's rows, a :class:`Holdout` carries the
training-period purchases the content, basket and context models learn from (``transactions``).
The interaction matrix spans the whole catalog, so products nobody bought in train still have a column.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import pandas as pd

from workbench.data import contract as C
from workbench.data.shop import Shop
from workbench.evaluate.metrics import evaluate_ranking
from workbench.recommend import protocol as P
from workbench.recommend.interactions import Interactions

log = logging.getLogger(__name__)


@dataclass
class Holdout:
    """One split under notebook 02's protocol: its train/test rows, training purchases, the train matrix."""

    train: pd.DataFrame          # the protocol's training rows (purchases, ratings or events)
    test: pd.DataFrame           # the relevant test rows (seen pairs dropped when the protocol says so)
    transactions: pd.DataFrame   # purchases of the training part (what content/basket/context models use)
    interactions: Interactions
    protocol: dict = field(default_factory=dict)

    @property
    def customers(self) -> pd.Index:
        """The evaluated customers: every customer of the test rows (as notebook 02 evaluates)."""
        return pd.Index(pd.unique(self.test[C.CUSTOMER_ID].astype("str")))

    def without_products(self, product_ids) -> "Holdout":
        """Return this hold-out with every training row and purchase of ``product_ids`` removed (the test
        rows and the catalog stay): the products look as if launched at the cut-off."""
        drop = pd.Index(product_ids).astype("str")
        train = self.train[~self.train[C.PRODUCT_ID].astype("str").isin(drop)]
        tx = self.transactions[~self.transactions[C.PRODUCT_ID].astype("str").isin(drop)]
        inter = P.to_interactions(train, self.protocol.get("source", "purchases"), self.interactions.product_ids)
        return Holdout(train, self.test, tx, inter, dict(self.protocol))

    def summary(self) -> dict:
        """The protocol and counts of the split (rows, customers, cold customers, products)."""
        known = self.customers.isin(self.interactions.customer_ids)
        return {"source": self.protocol.get("source"), "split": self.protocol.get("split"),
                "ratio": self.protocol.get("ratio"), "train_rows": len(self.train), "test_rows": len(self.test),
                "training_purchases": len(self.transactions), "eval_customers": len(self.customers),
                "cold_customers": int((~known).sum()), "products": self.interactions.shape[1]}


def can_split(rows: pd.DataFrame, split: str = "chronological") -> bool:
    """Whether the protocol's split is possible: a chronological one needs at least two distinct timestamps."""
    if len(rows) < 2:
        return False
    if split != "chronological":
        return True
    return C.TIMESTAMP in rows and pd.to_datetime(rows[C.TIMESTAMP]).nunique() >= 2


def _training_purchases(shop: Shop, train: pd.DataFrame, source: str, split: str) -> pd.DataFrame:
    """Purchases of the training part: the train rows themselves for purchases, else the sales lines of
    (customer, product) pairs in train (before the cut-off for a chronological split)."""
    sales = shop.transactions[shop.transactions[C.QUANTITY] > 0]
    if source == "purchases":
        return train
    pairs = pd.MultiIndex.from_frame(train[[C.CUSTOMER_ID, C.PRODUCT_ID]].astype("str"))
    keep = pd.MultiIndex.from_frame(sales[[C.CUSTOMER_ID, C.PRODUCT_ID]].astype("str")).isin(pairs)
    if split == "chronological" and C.TIMESTAMP in train and len(train):
        keep &= (pd.to_datetime(sales[C.TIMESTAMP]) <= pd.to_datetime(train[C.TIMESTAMP]).max()).to_numpy()
    return sales[keep]


def protocol_holdout(shop: Shop, recommenders_params: dict | None = None, seed: int = 42) -> Holdout:
    """Return the :class:`Holdout` of notebook 02's protocol (the ``recommenders:`` params block) on ``shop``."""
    cfg = P.settings(recommenders_params)
    rows = P.interaction_rows(shop, cfg["source"])
    if not can_split(rows, cfg["split"]):
        raise ValueError(f"the {cfg['split']} split needs rows with at least two distinct timestamps (this data "
                         "has no usable dates); set recommenders.split to stratified or random")
    train, test = P.split_rows(rows, cfg, seed)
    inter = P.to_interactions(train, cfg["source"], shop.products[C.PRODUCT_ID])
    tx = _training_purchases(shop, train, cfg["source"], cfg["split"])
    h = Holdout(train, test, tx, inter, {k: cfg[k] for k in ("source", "split", "ratio", "k", "drop_seen_pairs")})
    log.info("hold-out (notebook 02's protocol): %s", h.summary())
    return h


def fit_models(models: dict, holdout: Holdout, **context) -> dict:
    """Fit every model on the hold-out's train matrix with ``transactions`` (training purchases), ``history``
    (the protocol's train rows) and ``context``; return ``models``."""
    for model in models.values():
        model.fit(holdout.interactions, transactions=holdout.transactions, history=holdout.train, **context)
    return models


def evaluate_models(models: dict, holdout: Holdout, k: int = 10, **context) -> tuple[pd.DataFrame, dict, dict]:
    """Fit each model on the hold-out's train part and evaluate its top-``k`` lists for the test customers.

    Every ``fit`` gets ``transactions`` (training purchases), ``history`` (the protocol's train rows) and
    ``context`` (``products``, ``segments`` ...; each model takes what it needs). Returns
    ``(table, recs, seconds)``: :func:`evaluate_ranking` metrics per model (rows), the recommendations
    ``[customer_id, product_id, rank, score]`` per model, and fit/recommend seconds per model.
    """
    rows, recs, secs = {}, {}, {}
    for name, model in models.items():  # a handful of models
        t0 = time.perf_counter()
        fit_models({name: model}, holdout, **context)
        t1 = time.perf_counter()
        rec = model.recommend(holdout.customers, k=k)
        t2 = time.perf_counter()
        recs[name] = rec[[C.CUSTOMER_ID, C.PRODUCT_ID, "rank", "score"]]
        rows[name] = evaluate_ranking(holdout.test, recs[name], k=k, n_items=holdout.interactions.shape[1])
        secs[name] = {"fit": t1 - t0, "recommend": t2 - t1}
        log.info("%s: ndcg@%d %.4f (fit %.2fs, recommend %.2fs)", name, k, rows[name][f"ndcg@{k}"], t1 - t0, t2 - t1)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table, recs, secs


def metric_rows(table: pd.DataFrame) -> dict:
    """Return ``{model: {metric: value}}`` for metrics.json's ``recommenders`` block (every column of ``table``,
    i.e. precision/recall/map/ndcg/hit/mrr@k and coverage, the keys notebook 02 records)."""
    return {str(m): {c: float(table.loc[m, c]) for c in table.columns} for m in table.index}

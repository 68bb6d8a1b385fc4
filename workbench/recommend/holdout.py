"""The run's split as recommenders need it: train rows, relevant test pairs, training purchases and the
train interaction matrix, plus the one evaluation loop every recommender notebook uses.

The split is the run's one protocol (:mod:`workbench.evaluate.experiment`, the ``evaluation:`` params
block), read from or written to ``artifacts/split_*.parquet``; the interaction matrix spans the whole
catalog, so products nobody bought in train still have a column.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import pandas as pd

from workbench.data import contract
from workbench.data.shop import Shop
from workbench.evaluate import experiment
from workbench.evaluate.experiment import EvaluationSettings, Population, SplitRows
from workbench.evaluate import metrics as ranking_metrics
from workbench.evaluate.significance import bootstrap_ci
from workbench.recommend.base import Recommender
from workbench.recommend.interactions import Interactions
from workbench.stages import Limits, require

log = logging.getLogger(__name__)


def to_interactions(rows: pd.DataFrame, source: str, products=None, weight: str | None = None) -> Interactions:
    """Return the customer x product matrix of ``rows``: ratings, event weights or purchased units
    (``weight``: ``binary`` 0/1, ``count`` lines, ``quantity`` units; None: ratings / events / quantity)."""
    if source == "ratings":
        inter = Interactions.from_ratings(rows, products=products)
    elif source == "events":
        inter = Interactions.from_events(rows, products=products)
    else:
        return Interactions.from_transactions(rows, weight=weight or "quantity", products=products)
    if weight == "binary":
        inter.matrix = inter.binary()
    return inter


@dataclass
class Holdout:
    """One split of the run's protocol with its train interaction matrix."""

    train: pd.DataFrame          # training rows (sales lines, ratings or events)
    test: pd.DataFrame           # the relevant (customer, product) pairs, one row each
    transactions: pd.DataFrame   # sales lines of the training part (what content/basket/context models use)
    interactions: Interactions
    settings: EvaluationSettings
    population: Population | None = None  # who ``test`` covers (the ``evaluation.max_customers`` sample or all)

    @classmethod
    def from_split(cls, split: SplitRows, settings: EvaluationSettings, products, weight: str | None = None) -> "Holdout":
        """The hold-out of ``split`` with its interaction matrix over the catalog ``products``."""
        return cls(split.train, split.test, split.purchases,
                   to_interactions(split.train, settings.source, products, weight), settings, split.population)

    @property
    def customers(self) -> pd.Index:
        """The evaluated customers: every customer with a relevant test pair, sorted."""
        return pd.Index(sorted(pd.unique(self.test[contract.CUSTOMER_ID].astype("str"))), name=contract.CUSTOMER_ID)

    def without_products(self, product_ids) -> "Holdout":
        """Return this hold-out with every training row and purchase of ``product_ids`` removed (the test
        pairs and the catalog stay): the products look as if launched at the cut-off."""
        drop = pd.Index(product_ids).astype("str")
        train = self.train[~self.train[contract.PRODUCT_ID].astype("str").isin(drop)]
        tx = self.transactions[~self.transactions[contract.PRODUCT_ID].astype("str").isin(drop)]
        inter = to_interactions(train, self.settings.source, self.interactions.product_ids)
        return Holdout(train, self.test, tx, inter, self.settings, self.population)

    def summary(self) -> dict:
        """The protocol and counts of the split (rows, customers, cold customers, products)."""
        known = self.customers.isin(self.interactions.customer_ids)
        s = self.settings
        return {"source": s.source, "split": s.split, "ratio": s.ratio, "train_rows": len(self.train),
                "relevant_pairs": len(self.test), "training_purchases": len(self.transactions),
                "eval_customers": len(self.customers), "cold_customers": int((~known).sum()),
                "products": self.interactions.shape[1]}


def run_holdout(shop: Shop, params: dict, recorder=None, weight: str | None = None,
                stage: str = "recommenders") -> Holdout:
    """Return the :class:`Holdout` of the run's protocol (``params``' ``evaluation:`` block) on ``shop``.

    With a ``recorder`` the split comes from (or goes to) the run's ``split_*`` artifacts. Raises
    :class:`~workbench.errors.StageSkipped` for ``stage`` (``recommenders`` or ``hybrid``) when the data cannot
    be split under the protocol or the split has fewer test customers than ``limits.<stage>_min_test_customers``.
    """
    s = experiment.settings(params)
    need = getattr(Limits.from_params(params), f"{stage}_min_test_customers")
    rows = experiment.source_rows(shop, s.source)
    require(experiment.can_split(rows, s.split), stage,
            f"the ranking evaluation holds out part of each customer's history and the split "
            f"'{s.split}' (params evaluation.split) cannot split these {len(rows)} rows: last_basket needs a customer "
            f"with two invoices, chronological two distinct times; evaluation.split stratified or random may work")
    split = experiment.load_or_make_split(shop, s, recorder)
    h = Holdout.from_split(split, s, shop.products[contract.PRODUCT_ID], weight)
    require(len(h.customers) >= need, stage,
            f"the ranking evaluation scores test customers (a held-out purchase of a product they had not bought "
            f"before); the '{s.split}' split has {len(h.customers)}, fewer than {need} (params "
            f"limits.{stage}_min_test_customers)")
    log.info("hold-out: %s", h.summary())
    return h


def validation_holdouts(shop: Shop, holdout: Holdout, weight: str | None = None) -> list[Holdout]:
    """Return the validation folds of the protocol carved out of ``holdout``'s train part (never its test
    pairs), each a :class:`Holdout` over the same catalog."""
    s = holdout.settings
    split = SplitRows(holdout.train, holdout.test, holdout.transactions, holdout.population)
    return [Holdout.from_split(f, s, holdout.interactions.product_ids, weight)
            for f in experiment.validation_folds(shop, split, s)]


def fit_models(models: dict, holdout: Holdout, **context) -> dict:
    """Fit every model on the hold-out's train matrix with ``transactions`` (training purchases), ``history``
    (the train rows) and ``context``; return ``models``."""
    for model in models.values():
        model.fit(holdout.interactions, transactions=holdout.transactions, history=holdout.train, **context)
    return models


@dataclass
class Results:
    """Everything one evaluation produced, per model."""

    k: int
    summary: pd.DataFrame  # one row per model: metrics@k, coverage, novelty, diversity
    per_customer: pd.DataFrame  # model, customer_id, precision, recall, ap, ndcg, hit, rr
    recs: dict[str, pd.DataFrame] = field(default_factory=dict)
    seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    models: dict[str, Recommender] = field(default_factory=dict)

    def metrics_json(self) -> dict:
        """Return ``{model: {"precision@k", "recall@k", "map@k", "ndcg@k", "hit@k", "mrr@k", "coverage"}}``."""
        keys = [f"{m}@{self.k}" for m in ("precision", "recall", "map", "ndcg", "hit", "mrr")] + ["coverage"]
        return {m: {c: float(self.summary.loc[m, c]) for c in keys} for m in self.summary.index}

    def with_ci(self, n_boot: int = 1000, seed: int = 0, columns=("ndcg", "precision", "recall", "ap")) -> pd.DataFrame:
        """Return the summary with bootstrap (95%) intervals over customers for ``columns`` (per-customer metrics)."""
        out = self.summary.copy()
        for col in columns:
            name = f"{ranking_metrics.METRIC_NAMES[col]}@{self.k}"
            lo, hi = [], []
            for m in out.index:
                v = self.per_customer.loc[self.per_customer["model"] == m, col].to_numpy()
                _, a, b = bootstrap_ci(v, n_boot=n_boot, seed=seed)
                lo.append(a)
                hi.append(b)
            pos = out.columns.get_loc(name) + 1
            out.insert(pos, f"{name} ci", [f"[{a:.3f}, {b:.3f}]" for a, b in zip(lo, hi)])
        return out

    def timing(self) -> pd.DataFrame:
        """Return fit, recommend and total seconds per model."""
        t = pd.DataFrame(self.seconds).T[["fit", "recommend"]]
        t["total"] = t["fit"] + t["recommend"]
        return t


def evaluate_models(models: dict[str, Recommender], holdout: Holdout, features: pd.DataFrame | None = None,
                    progress: bool = False, **context) -> Results:
    """Fit each model on the hold-out's train part, recommend k unseen products (k of the protocol) to every
    test customer and score the lists against the relevant test pairs.

    Every ``fit`` gets ``transactions`` (training purchases), ``history`` (the train rows) and ``context``
    (``products``, ``segments`` ...; each model takes what it needs). Fit and recommend seconds are measured
    per model (for ``timings.json``); ``features`` (one-hot item features) adds intra-list diversity.
    """
    k = holdout.settings.k
    users = holdout.customers
    n_items = holdout.interactions.shape[1]
    rows, pcs, recs, secs = [], [], {}, {}
    for name, model in models.items():  # a handful of models
        t0 = time.perf_counter()
        fit_models({name: model}, holdout, **context)
        t1 = time.perf_counter()
        rec = model.recommend(users, k=k, progress=progress)
        t2 = time.perf_counter()
        secs[name] = {"fit": t1 - t0, "recommend": t2 - t1}
        rec = rec[[contract.CUSTOMER_ID, contract.PRODUCT_ID, "rank", "score"]]
        pc = ranking_metrics.per_customer_metrics(holdout.test, rec, k=k)
        row = {"model": name, **ranking_metrics.summarize(pc, k),
               "coverage": ranking_metrics.catalog_coverage(rec, n_items),
               "novelty": ranking_metrics.novelty(rec, holdout.train)}
        if features is not None:
            row["diversity"] = ranking_metrics.intra_list_diversity(rec, features)
        rows.append(row)
        pcs.append(pc.assign(model=name))
        recs[name] = rec
        log.info("%s: ndcg@%d %.4f (fit %.2fs, recommend %.2fs)", name, k, row[f"ndcg@{k}"], t1 - t0, t2 - t1)
    summary = pd.DataFrame(rows).set_index("model")
    per_customer = pd.concat(pcs, ignore_index=True)[["model", contract.CUSTOMER_ID, *ranking_metrics.PER_CUSTOMER_COLUMNS]]
    return Results(k, summary, per_customer, recs, secs, dict(models))

"""Notebook 02's experiment: which rows, which split, which models, and one evaluation for all of them.

A params block ``recommenders:`` (merged over :data:`DEFAULTS`) says

- ``source``: the rows the interaction matrix is built from: ``purchases`` (transactions, quantity > 0),
  ``ratings`` or ``events``;
- ``split``: ``stratified`` (per ``stratify_by`` group, ``ratio`` in train), ``chronological`` (global
  cut-off at the ``ratio`` quantile of time, or ``cutoff``), ``random`` or ``last_basket``;
  ``drop_seen_pairs`` keeps in test only the pairs the customer did not have in train;
- ``models``: names from :data:`MODEL_NAMES`, each with its constructor params under its own key
  (``ease: {lam: 500}``); ``tune: {model: {param: [values]}}`` picks params on validation splits
  carved from TRAIN with the same protocol (``tune_seeds``, ``tune_ratio``);
- ``k``, ``n_boot`` (bootstrap resamples for the intervals) and ``curve_ks``;
- ``surprise``: k-fold RMSE/MAE of surprise rating models (only when the data has ratings).
"""
from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field

import pandas as pd

from workbench.data import contract as C
from workbench.data.shop import Shop
from workbench.evaluate import metrics as M
from workbench.evaluate import significance as G
from workbench.evaluate import split as S
from workbench.recommend.base import Recommender
from workbench.recommend.baselines import MostPopular, RandomRecommender
from workbench.recommend.cf import EASE, ItemKNN, SurpriseRecommender
from workbench.recommend.implicit_models import ALS, BPR
from workbench.recommend.interactions import Interactions
from workbench.recommend.tuning import best_params, validation_search

log = logging.getLogger(__name__)

SOURCES = ("purchases", "ratings", "events")
SPLITS = ("stratified", "chronological", "random", "last_basket")

#: model name -> (class, fixed constructor args)
MODEL_NAMES = {
    "random": (RandomRecommender, {}),
    "popular": (MostPopular, {}),
    "popular_recent": (MostPopular, {"window_days": 30}),
    "item_knn": (ItemKNN, {}),
    "ease": (EASE, {}),
    "als": (ALS, {}),
    "bpr": (BPR, {}),
    "svd": (SurpriseRecommender, {"algo": "SVD"}),
    "svdpp": (SurpriseRecommender, {"algo": "SVDpp"}),
    "baselineonly": (SurpriseRecommender, {"algo": "BaselineOnly"}),
}
#: models that need rating values (skipped on purchases / events)
RATING_MODELS = ("svd", "svdpp", "baselineonly")

DEFAULTS: dict = {
    "source": "purchases",
    "split": "chronological",
    "ratio": 0.8,
    "stratify_by": C.PRODUCT_ID,
    "cutoff": None,
    "drop_seen_pairs": True,
    "k": 10,
    "models": ["random", "popular", "popular_recent", "item_knn", "ease", "als", "bpr"],
    "random": {},
    "popular": {},
    "popular_recent": {"window_days": 30},
    "item_knn": {"k_neighbors": 100, "shrink": 10.0},
    "ease": {"lam": 500.0},
    "als": {"factors": 32, "regularization": 1.0, "alpha": 1.0, "iterations": 15},
    "bpr": {"factors": 64, "learning_rate": 0.01, "regularization": 0.01, "iterations": 50},
    "svd": {},
    "svdpp": {},
    "baselineonly": {},
    "tune": {"ease": {"lam": [50.0, 200.0, 500.0, 2000.0]}, "als": {"regularization": [0.1, 1.0, 10.0]}},
    "tune_seeds": [1, 2, 3],
    "tune_ratio": 0.8,
    "n_boot": 1000,
    "curve_ks": [1, 2, 3, 5, 10, 20],
    "surprise": {"enabled": True, "folds": 5, "seed": 0, "models": ["SVD", "KNNBaseline", "BaselineOnly"],
                 "svdpp": False, "grid": {}},
}


def settings(params_block: dict | None) -> dict:
    """Return :data:`DEFAULTS` with a ``recommenders:`` params block merged in (nested dicts key by key)."""
    from workbench.config import deep_merge

    cfg = deep_merge(DEFAULTS, params_block or {})
    if "tune" in (params_block or {}):  # a params file's grids replace the defaults' (not merged per model)
        cfg["tune"] = copy.deepcopy(params_block["tune"] or {})
    if cfg["source"] not in SOURCES:
        raise ValueError(f"recommenders.source must be one of {SOURCES}, not {cfg['source']!r}")
    if cfg["split"] not in SPLITS:
        raise ValueError(f"recommenders.split must be one of {SPLITS}, not {cfg['split']!r}")
    unknown = [m for m in cfg["models"] if m not in MODEL_NAMES]
    if unknown:
        raise ValueError(f"recommenders.models: unknown {unknown}; choose from {list(MODEL_NAMES)}")
    return cfg


# ---- data ----------------------------------------------------------------------------------------
def interaction_rows(shop: Shop, source: str) -> pd.DataFrame:
    """Return the long rows the interactions come from (customer_id, product_id, timestamp, ...)."""
    if source == "ratings":
        if shop.ratings is None or shop.ratings.empty:
            raise ValueError("recommenders.source=ratings but this shop has no ratings table; use purchases")
        return shop.ratings
    if source == "events":
        if shop.events is None or shop.events.empty:
            raise ValueError("recommenders.source=events but this shop has no events table; use purchases")
        return shop.events
    tx = shop.transactions
    return tx[tx[C.QUANTITY] > 0]


def split_rows(rows: pd.DataFrame, cfg: dict, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(train, test)`` rows under the configured protocol (test without seen pairs if asked)."""
    how = cfg["split"]
    if how == "stratified":
        train, test = S.stratified_split(rows, cfg["ratio"], by=cfg["stratify_by"], seed=seed)
    elif how == "chronological":
        train, test = S.chronological_split(rows, cutoff=cfg.get("cutoff"), ratio=cfg["ratio"])
    elif how == "random":
        train, test = S.random_split(rows, cfg["ratio"], seed=seed)
    else:
        train, test = S.leave_last_basket_out(rows)
    if cfg.get("drop_seen_pairs"):
        test = S.drop_seen_pairs(test, train)
    return train, test


def to_interactions(rows: pd.DataFrame, source: str, products=None) -> Interactions:
    """Return the customer x product matrix of ``rows`` (ratings, purchased units or event weights)."""
    if source == "ratings":
        return Interactions.from_ratings(rows, products=products)
    if source == "events":
        return Interactions.from_events(rows, products=products)
    return Interactions.from_transactions(rows, weight="quantity", products=products)


def split_summary(train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """Return rows, customers and products of train and test, and how many test customers are cold."""
    cold = ~test[C.CUSTOMER_ID].astype("str").isin(set(train[C.CUSTOMER_ID].astype("str")))
    return pd.DataFrame({
        "rows": [len(train), len(test)],
        "customers": [train[C.CUSTOMER_ID].nunique(), test[C.CUSTOMER_ID].nunique()],
        "products": [train[C.PRODUCT_ID].nunique(), test[C.PRODUCT_ID].nunique()],
        "cold customers": [0, test.loc[cold, C.CUSTOMER_ID].nunique()],
    }, index=["train", "test"])


# ---- models --------------------------------------------------------------------------------------
def make_model(name: str, cfg: dict, overrides: dict | None = None) -> Recommender:
    """Return the unfitted model ``name`` with its params from ``cfg[name]`` (and ``overrides``)."""
    cls, fixed = MODEL_NAMES[name]
    params = {**fixed, **(cfg.get(name) or {}), **(overrides or {})}
    if cls is SurpriseRecommender:
        algo = params.pop("algo")
        rs = params.pop("random_state", 0)
        model = SurpriseRecommender(algo, params, random_state=rs)
    else:
        model = cls(**params)
    model.name = name
    return model


def active_models(cfg: dict) -> list[str]:
    """Return the configured model names that can run on this source (rating models need ratings)."""
    names = list(cfg["models"])
    if cfg["source"] != "ratings":
        skipped = [m for m in names if m in RATING_MODELS]
        if skipped:
            log.info("skipping %s: they need ratings and the source is %s", skipped, cfg["source"])
        names = [m for m in names if m not in RATING_MODELS]
    return names


def validation_splitter(cfg: dict):
    """Return ``f(train, seed) -> (fit, validation)``: the test protocol applied again inside train."""
    inner = dict(cfg, ratio=cfg.get("tune_ratio", cfg["ratio"]), cutoff=None)

    def f(train: pd.DataFrame, seed: int):
        return split_rows(train, inner, seed)

    return f


def tune(train: pd.DataFrame, cfg: dict, products=None, k: int | None = None) -> dict[str, tuple[dict, pd.DataFrame]]:
    """Return ``{model: (best params, validation table)}`` for every model with a grid in ``cfg["tune"]``."""
    out = {}
    seeds = tuple(cfg["tune_seeds"]) if cfg["split"] in ("stratified", "random") else (0,)
    for name, grid in (cfg.get("tune") or {}).items():
        if name not in active_models(cfg):
            continue
        table = validation_search(lambda **p: make_model(name, cfg, p), grid, train,
                                  lambda rows: to_interactions(rows, cfg["source"], products),
                                  validation_splitter(cfg), seeds=seeds, k=k or cfg["k"],
                                  fit_context=lambda rows: {"history": rows})
        out[name] = (best_params(table), table)
    return out


# ---- evaluation ----------------------------------------------------------------------------------
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

    def with_ci(self, n_boot: int = 1000, seed: int = 0, metrics=("ndcg", "precision", "recall", "ap")) -> pd.DataFrame:
        """Return the summary with bootstrap (95%) intervals over customers for ``metrics``."""
        out = self.summary.copy()
        for col in metrics:
            name = f"{M.METRIC_NAMES[col]}@{self.k}"
            lo, hi = [], []
            for m in out.index:
                v = self.per_customer.loc[self.per_customer["model"] == m, col].to_numpy()
                _, a, b = G.bootstrap_ci(v, n_boot=n_boot, seed=seed)
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


def item_features(products: pd.DataFrame) -> pd.DataFrame | None:
    """Return one-hot category features per product (for intra-list diversity), or None without categories."""
    if products is None or C.CATEGORY not in products.columns:
        return None
    return pd.get_dummies(products.set_index(products[C.PRODUCT_ID].astype("str"))[C.CATEGORY].astype("str"),
                          dtype=float)


def evaluate_models(models: dict[str, Recommender], inter: Interactions, train: pd.DataFrame, test: pd.DataFrame,
                    k: int = 10, n_items: int | None = None, features: pd.DataFrame | None = None,
                    progress: bool = False) -> Results:
    """Fit each model on ``inter``, recommend ``k`` unseen products to every test customer and score them.

    Fit and recommend seconds are measured per model (for ``timings.json``); ``history=train`` is
    passed to ``fit`` (the recent-popularity baseline needs the timestamps).
    """
    users = pd.unique(test[C.CUSTOMER_ID].astype("str"))
    n_items = n_items or inter.shape[1]
    rows, pcs, recs, secs = [], [], {}, {}
    for name, model in models.items():
        t0 = time.perf_counter()
        model.fit(inter, history=train)
        t1 = time.perf_counter()
        rec = model.recommend(users, k=k, progress=progress)
        t2 = time.perf_counter()
        secs[name] = {"fit": t1 - t0, "recommend": t2 - t1}
        rec = rec[[C.CUSTOMER_ID, C.PRODUCT_ID, "rank", "score"]]
        pc = M.per_customer_metrics(test, rec, k=k)
        row = {"model": name, **M.summarize(pc, k), "coverage": M.catalog_coverage(rec, n_items),
               "novelty": M.novelty(rec, train)}
        if features is not None:
            row["diversity"] = M.intra_list_diversity(rec, features)
        rows.append(row)
        pcs.append(pc.assign(model=name))
        recs[name] = rec
        log.info("%s: ndcg@%d %.4f (fit %.2fs, recommend %.2fs)", name, k, row[f"ndcg@{k}"], *secs[name].values())
    summary = pd.DataFrame(rows).set_index("model")
    per_customer = pd.concat(pcs, ignore_index=True)[["model", C.CUSTOMER_ID, *M.PER_CUSTOMER_COLUMNS]]
    return Results(k, summary, per_customer, recs, secs, dict(models))


def curves(results: Results, test: pd.DataFrame, ks=(1, 2, 3, 5, 10, 20)) -> pd.DataFrame:
    """Return [model, k, precision, recall, map, ndcg, hit, mrr] for every model and K <= the recommended k."""
    ks = [x for x in ks if x <= results.k]
    parts = [M.ranking_curve(test, rec, ks).assign(model=m) for m, rec in results.recs.items()]
    return pd.concat(parts, ignore_index=True)


def beside_published(summary: pd.DataFrame, published: pd.DataFrame, seconds: dict | None = None) -> pd.DataFrame:
    """Return our rows and the published rows in one table (shared metric columns), best nDCG first."""
    cols = [c for c in published.columns if "@" in c]
    ours = summary[cols].reset_index()
    ours["source"] = "ours"
    if seconds:
        ours["fit+recommend s"] = [seconds[m]["fit"] + seconds[m]["recommend"] for m in ours["model"]]
    both = pd.concat([ours, published], ignore_index=True)
    sort_col = next((c for c in cols if c.startswith("ndcg")), cols[0])
    return both.sort_values(sort_col, ascending=False, ignore_index=True)


def surprise_models(cfg: dict) -> dict[str, dict]:
    """Return ``{surprise algorithm: params}`` to cross-validate (Surprise defaults; SVDpp only when enabled)."""
    s = cfg["surprise"]
    names = list(s.get("models") or [])
    if s.get("svdpp") and "SVDpp" not in names:
        names.append("SVDpp")
    return {n: copy.deepcopy((s.get("params") or {}).get(n, {})) for n in names}


def recs_artifact_name(model: str) -> str:
    """Return the artifact name of a model's test recommendations (``recs_<model>``)."""
    return f"recs_{model}"

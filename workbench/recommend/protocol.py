"""Notebook 02's models: which ranking models run with which settings, their tuning, and one evaluation loop.

The split is the run's one protocol (:mod:`workbench.evaluate.experiment`, the ``evaluation:`` block:
source rows, split kind, ``k``, validation folds, bootstrap). A params block ``recommenders:`` (merged
over :data:`DEFAULTS`) says

- ``models``: names of the model registry (:mod:`workbench.recommend.registry`) of the families this notebook
  runs (:data:`FAMILIES`), each with its constructor params under its own key (``ease: {lam: 500}``); a model's
  defaults are its class's constructor defaults; without the key, the registry's default models;
- ``tune: {model: {param: [values]}}``: grids searched on the validation folds carved out of TRAIN (without
  the key, the grids registered with the models);
- ``surprise``: k-fold RMSE/MAE of surprise rating models (only when the data has ratings).
"""
from __future__ import annotations

import copy
import logging

import pandas as pd

from workbench.data import contract
from workbench.evaluate import metrics as ranking_metrics
from workbench.recommend import registry
from workbench.recommend.base import Recommender
from workbench.recommend.holdout import Holdout, Results, to_interactions
from workbench.recommend.tuning import best_params, validation_search
from workbench.stages import require

log = logging.getLogger(__name__)

#: the registry's families this notebook runs (content, basket and context models have their own notebooks)
FAMILIES = ("baseline", "cf")

#: the ``recommenders`` block's own settings (its ``models`` and ``tune`` defaults come from the registry:
#: :func:`defaults`)
DEFAULTS: dict = {
    "surprise": {                    # rating prediction with scikit-surprise (shops with ratings)
        "enabled": True,             # false: no rating models
        "folds": 5,                  # cross-validation folds
        "seed": 0,                   # the folds' seed
        "models": ["SVD", "KNNBaseline", "BaselineOnly"],  # surprise algorithms cross-validated
        "svdpp": False,              # also SVD++ (slow)
        "grid": {},                  # {algorithm: {parameter: [values]}} for surprise's grid search
    },
}


def model_names() -> list[str]:
    """Return the models this notebook can run: the registered ones of :data:`FAMILIES`, in registry order."""
    return registry.names(FAMILIES)


def defaults() -> dict:
    """Return the ``recommenders`` block's defaults: :data:`DEFAULTS`, the registry's default models and the
    tuning grids registered with them."""
    specs = [registry.get(n) for n in model_names()]
    return {"models": [s.name for s in specs if s.default],
            # {model: {argument: [values]}}: the grids tuned on validation (a params file's replace these)
            "tune": {s.name: copy.deepcopy(dict(s.grid)) for s in specs if s.grid},
            **copy.deepcopy(DEFAULTS)}


def settings(params_block: dict | None, source: str = "purchases") -> dict:
    """Return :func:`defaults` with a ``recommenders:`` params block merged in (nested dicts key by key);
    ``source`` is the evaluation's (``evaluation.source``: rating models need ratings)."""
    from workbench.config import merge_block

    block = params_block or {}
    cfg = merge_block(defaults(), block, "recommenders", extra_keys=model_names())  # ease: {lam: 500} ...
    if "tune" in block:  # a params file's grids replace the defaults' (not merged per model)
        cfg["tune"] = copy.deepcopy(block["tune"] or {})
    cfg["source"] = source
    unknown = [m for m in cfg["models"] if m not in model_names()]
    if unknown:
        raise ValueError(f"recommenders.models: unknown {unknown}; choose from {model_names()}")
    return cfg


# ---- data ----------------------------------------------------------------------------------------
def split_summary(train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """Return rows, customers and products of train and test (relevant pairs), and how many test customers are cold."""
    cold = ~test[contract.CUSTOMER_ID].astype("str").isin(set(train[contract.CUSTOMER_ID].astype("str")))
    return pd.DataFrame({
        "rows": [len(train), len(test)],
        "customers": [train[contract.CUSTOMER_ID].nunique(), test[contract.CUSTOMER_ID].nunique()],
        "products": [train[contract.PRODUCT_ID].nunique(), test[contract.PRODUCT_ID].nunique()],
        "cold customers": [0, test.loc[cold, contract.CUSTOMER_ID].nunique()],
    }, index=["train", "test"])


# ---- models --------------------------------------------------------------------------------------
def make_model(name: str, cfg: dict, overrides: dict | None = None) -> Recommender:
    """Return the unfitted model ``name`` (registered) with its params from ``cfg[name]`` (and ``overrides``)."""
    return registry.build(name, {**(cfg.get(name) or {}), **(overrides or {})})


def active_models(cfg: dict) -> list[str]:
    """Return the configured model names that can run on this source (rating models need ratings)."""
    names = list(cfg["models"])
    if cfg["source"] != "ratings":
        rating_models = registry.names(needs="ratings")
        skipped = [m for m in names if m in rating_models]
        if skipped:
            log.info("skipping %s: they need ratings and the source is %s", skipped, cfg["source"])
        names = [m for m in names if m not in rating_models]
    return names


def tune(folds: list[Holdout], cfg: dict, k: int) -> dict[str, tuple[dict, pd.DataFrame]]:
    """Return ``{model: (best params, validation table)}`` for every model with a grid in ``cfg["tune"]``,
    searched on the validation ``folds`` (carved out of train: :func:`workbench.evaluate.experiment.validation_folds`)."""
    out = {}
    grids = {n: g for n, g in (cfg.get("tune") or {}).items() if n in active_models(cfg)}
    require(bool(folds) or not grids, "recommenders.tuning",
            "tuning holds out part of the training data as validation folds, and the training part is too small "
            "to carve one out (params evaluation.validation); the models keep their default settings")
    pairs = [(f.train, f.test) for f in folds]
    for name, grid in (cfg.get("tune") or {}).items():
        if name not in active_models(cfg):
            continue
        products = folds[0].interactions.product_ids if folds else None
        table = validation_search(lambda **p: make_model(name, cfg, p), grid, pairs,
                                  lambda rows: to_interactions(rows, cfg["source"], products), k=k,
                                  fit_context=lambda rows: {"history": rows}, desc=f"tune {name}")
        out[name] = (best_params(table), table)
    return out


# ---- evaluation ----------------------------------------------------------------------------------
def item_features(products: pd.DataFrame) -> pd.DataFrame | None:
    """Return one-hot category features per product (for intra-list diversity), or None without categories."""
    if products is None or contract.CATEGORY not in products.columns:
        return None
    return pd.get_dummies(products.set_index(products[contract.PRODUCT_ID].astype("str"))[contract.CATEGORY].astype("str"),
                          dtype=float)


def curves(results: Results, test: pd.DataFrame, ks=(1, 2, 3, 5, 10, 20)) -> pd.DataFrame:
    """Return [model, k, precision, recall, map, ndcg, hit, mrr] for every model and K <= the recommended k."""
    ks = [x for x in ks if x <= results.k]
    parts = [ranking_metrics.ranking_curve(test, rec, ks).assign(model=m) for m, rec in results.recs.items()]
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

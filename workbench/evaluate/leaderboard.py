"""The leaderboard: every ranking model's saved top-K lists scored on the run's one test split.

Inputs are the lists (``recs_<model>``: ``customer_id, product_id, score, rank``) and the relevant test
pairs (``split_test``), nothing else, so the table can be recomputed by anyone from the artifacts. Every
model is scored on the same test customers, the evaluation population (``evaluation.max_customers``, recorded in
``split.json``), at the same K: a model whose lists miss customers of the population is an error naming it, never
zeros for them. ``vs_popular`` is a paired bootstrap over those customers of the NDCG@K difference to the
most-popular baseline.

Families: ``baseline``, ``cf``, ``content``, ``basket``, ``context`` (a model's family is registered with it in
:mod:`workbench.recommend.registry`, whose ``families()`` the caller passes in) and ``hybrid`` (every
``hybrid_<variant>``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.errors import PopulationError
from workbench.evaluate.experiment import Population
from workbench.evaluate.metrics import catalog_coverage, per_customer_metrics
from workbench.evaluate.significance import paired_bootstrap

log = logging.getLogger(__name__)

HYBRID_FAMILY = "hybrid"
FAMILIES = ("baseline", "cf", "content", "basket", "context", HYBRID_FAMILY)
HYBRID_PREFIX = "hybrid_"
#: the lists a run ships: the hybrid after its business rules (notebook 05)
SHIPPED_MODEL = f"{HYBRID_PREFIX}final"
POPULAR = "popular"


def family(model: str, families: Mapping[str, str]) -> str:
    """Return the family of a model name: ``families[model]`` (``{name: family}``, the model registry's
    :func:`workbench.recommend.registry.families`), ``hybrid`` for ``hybrid_<variant>``."""
    if model.startswith(HYBRID_PREFIX) or model == HYBRID_FAMILY:
        return HYBRID_FAMILY
    if model not in families:
        raise ValueError(f"model '{model}' has no family: register it in workbench.recommend.registry.MODELS "
                         f"(family one of {FAMILIES})")
    return families[model]


@dataclass
class Leaderboard:
    """The ranked rows and the per-customer NDCG behind them."""

    k: int
    rows: pd.DataFrame          # one row per model, best NDCG@K first
    per_customer: pd.DataFrame  # NDCG@K per test customer (rows) and model (columns)
    test_customers: int
    baseline: str | None
    population: Population | None = None

    @property
    def best_model(self) -> str | None:
        """The model at the top (highest NDCG@K; ties by name)."""
        return str(self.rows["model"].iloc[0]) if len(self.rows) else None

    def best(self, families=None, exclude=("baseline",)) -> str | None:
        """The best model of ``families`` (all by default) outside the ``exclude`` families, or None."""
        r = self.rows[~self.rows["family"].isin(exclude)]
        if families is not None:
            r = r[r["family"].isin(families)]
        return str(r["model"].iloc[0]) if len(r) else None

    def compare(self, a: str, b: str, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0) -> dict:
        """Paired bootstrap of NDCG@K, ``a`` minus ``b``, over the test customers: ``{delta, low, high, n}``."""
        d, lo, hi = paired_bootstrap(self.per_customer[a], self.per_customer[b], n_boot, alpha, seed)
        return {"delta": d, "low": lo, "high": hi, "n": int(len(self.per_customer))}

    def to_metrics(self) -> dict:
        """The ``evaluation`` keys: ``leaderboard`` (list of row dicts), ``best_model``, ``test_customers``, ``k``,
        ``population`` (customers evaluated, of how many, how drawn)."""
        cols = self.rows.columns
        out = []
        for r in self.rows.to_dict(orient="records"):
            row = {c: r[c] for c in cols if c not in ("vs_low", "vs_high", "vs_delta")}
            row["vs_popular"] = (None if pd.isna(r["vs_delta"]) else
                                 {"delta": float(r["vs_delta"]), "low": float(r["vs_low"]), "high": float(r["vs_high"])})
            out.append(row)
        population = self.population or Population.everyone(self.test_customers)
        return {"k": self.k, "leaderboard": out, "best_model": self.best_model, "test_customers": self.test_customers,
                "baseline_model": self.baseline, "population": population.to_dict()}

    def table(self) -> pd.DataFrame:
        """The rows for display: model index, metrics, vs-popular delta and its interval."""
        t = self.rows.set_index("model").rename(columns={"vs_delta": "vs popular", "vs_low": "low", "vs_high": "high"})
        return t


def leaderboard(recs: dict[str, pd.DataFrame], test: pd.DataFrame, k: int, n_items: int,
                families: Mapping[str, str], baseline: str | None = POPULAR, n_boot: int = 1000,
                alpha: float = 0.05, seed: int = 0, population: Population | None = None) -> Leaderboard:
    """Return the :class:`Leaderboard` of ``recs`` (model -> lists) on the relevant pairs ``test`` at ``k``.

    ``n_items`` is the catalog size (for coverage); ``families`` maps model names to families (the model
    registry's, :func:`workbench.recommend.registry.families`; see :func:`family`);
    ``baseline`` is the model every row is compared with (None or absent: no comparison); ``population``
    describes who ``test`` covers (recorded with the split). Raises :class:`PopulationError` when a model's
    lists miss customers of ``test``.

    Examples
    --------
    Two models' top-2 lists for customers a (held out: p3) and b (p2). ``mine`` puts each held-out product first
    (NDCG 1); ``popular`` finds only b's, at rank 2 (NDCG = (0 + 1 / log2(3)) / 2 = 0.3155):

    >>> import pandas as pd
    >>> test = pd.DataFrame({"customer_id": ["a", "b"], "product_id": ["p3", "p2"]})
    >>> def lists(products):
    ...     return pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "product_id": products,
    ...                          "rank": [1, 2, 1, 2], "score": [2.0, 1.0, 2.0, 1.0]})
    >>> board = leaderboard({"popular": lists(["p1", "p2", "p1", "p2"]), "mine": lists(["p3", "p1", "p2", "p1"])},
    ...                     test, k=2, n_items=3, families={"popular": "baseline", "mine": "cf"}, n_boot=200)
    >>> board.best_model
    'mine'
    >>> print(board.table()[["family", "ndcg@2", "precision@2", "recall@2"]].to_string())
               family    ndcg@2  precision@2  recall@2
    model
    mine           cf  1.000000         0.50       1.0
    popular  baseline  0.315465         0.25       0.5
    """
    truth = test[[contract.CUSTOMER_ID, contract.PRODUCT_ID]].astype("str").drop_duplicates()
    customers = pd.Index(np.sort(truth[contract.CUSTOMER_ID].unique()), name=contract.CUSTOMER_ID)
    fam = {m: family(m, families) for m in recs}
    per = {}
    rows = []
    for model in sorted(recs):
        r = recs[model]
        pc = per_customer_metrics(truth, r, k).set_index(contract.CUSTOMER_ID).reindex(customers)
        per[model] = pc["ndcg"].to_numpy()
        has_list = pd.Index(r[contract.CUSTOMER_ID].astype("str").unique()).get_indexer(customers) >= 0
        listed = int(has_list.sum())
        rows.append({"model": model, "family": fam[model], f"ndcg@{k}": float(pc["ndcg"].mean()),
                     f"precision@{k}": float(pc["precision"].mean()), f"recall@{k}": float(pc["recall"].mean()),
                     f"map@{k}": float(pc["ap"].mean()), "coverage": catalog_coverage(r, n_items, k=k),
                     "customers_listed": listed})
        if listed < len(customers):
            missing = customers[~has_list]
            raise PopulationError(
                f"leaderboard: recs_{model} has lists for {listed:,} of the {len(customers):,} customers every model "
                f"is scored on ({(population or Population.everyone(len(customers))).describe()}); missing e.g. "
                f"{list(missing[:5])}. Its lists were made for other customers (an older split, or a notebook run "
                "with other evaluation settings): rerun the notebook that wrote it with this run's params")
    per_customer = pd.DataFrame(per, index=customers)
    table = pd.DataFrame(rows, columns=["model", "family", f"ndcg@{k}", f"precision@{k}", f"recall@{k}", f"map@{k}",
                                        "coverage", "customers_listed"])
    base = baseline if baseline in per_customer else None
    deltas = []
    for model in table["model"]:
        if base is None or model == base:
            deltas.append((np.nan, np.nan, np.nan))
        else:
            deltas.append(paired_bootstrap(per_customer[model], per_customer[base], n_boot, alpha, seed))
    table["vs_delta"], table["vs_low"], table["vs_high"] = (list(x) for x in zip(*deltas)) if deltas else ([], [], [])
    table = table.sort_values([f"ndcg@{k}", "model"], ascending=[False, True], ignore_index=True)
    return Leaderboard(k, table, per_customer, int(len(customers)), base, population)

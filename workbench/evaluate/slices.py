"""Error analysis: where each ranking model wins and loses, how much the models' lists overlap, and what they
cover, all from the saved lists and the run's one test split.

- :func:`slice_metrics`: NDCG@K and recall@K with bootstrap intervals per slice of the test customers, for
  every model. Customer slices (RFM segment, cluster, history bucket, new vs returning) group the customers'
  usual per-customer values; product slices (the held-out product's category, its popularity band) score
  each customer against their held-out products of that slice only (the whole top-K list is kept), so a
  customer with held-out products in two categories counts in both.
- :func:`popularity_bands`: head / torso / tail products by their share of training sales
  (:class:`SliceSettings`).
- :func:`overlap_matrix`: mean Jaccard similarity of two models' top-K lists over the test customers.
- :func:`beyond_accuracy`: catalog coverage, novelty and intra-list diversity per model.
- :func:`shipped_vs_best`: per slice, the shipped lists against the best model, a paired bootstrap of NDCG@K.

Everything is vectorised: one pass over each model's top-K rows gives the per-customer values of every slice
of a dimension, and one resampling of a slice's customers gives the intervals of all models at once
(:func:`workbench.evaluate.significance.bootstrap_ci_columns`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench.data import contract
from workbench.evaluate.metrics import RANK, intra_list_diversity, novelty, self_information
from workbench.evaluate.significance import bootstrap_ci_columns

log = logging.getLogger(__name__)

#: the slice dimensions, in the order they are reported
CUSTOMER_DIMENSIONS = ("segment", "cluster", "history", "customer_type")
PRODUCT_DIMENSIONS = ("category", "popularity")
DIMENSIONS = ("segment", "cluster", "history", "category", "popularity", "customer_type")
NEW, RETURNING = "new", "returning"
HEAD, TORSO, TAIL = "head", "torso", "tail"
METRICS = ("ndcg", "recall")


@dataclass(frozen=True)
class SliceSettings:
    """Thresholds of the slices.

    Products sorted by training sales (most sold first) are ``head`` while the running share of sales they
    make up is at most ``head_share``, ``torso`` up to ``torso_share``, ``tail`` after; ``min_customers``:
    smaller slices are left out of the shipped-vs-best table (their intervals are too wide to read).
    """

    head_share: float = 0.5
    torso_share: float = 0.8
    min_customers: int = 30

    def __post_init__(self):
        if not 0.0 < self.head_share < self.torso_share < 1.0:
            raise ValueError(f"slices: need 0 < head_share < torso_share < 1, not {self.head_share}, "
                             f"{self.torso_share}")


@dataclass
class TopK:
    """One model's top-K lists as codes: customer (of the test customers), product (of the catalog), position."""

    customer: np.ndarray
    product: np.ndarray
    position: np.ndarray


def codes_of(values, index: pd.Index) -> np.ndarray:
    """Position of each of ``values`` (strings) in ``index`` (-1 when absent), looked up by Arrow in one pass."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(pd.Series(values).astype("str").to_numpy(dtype=object), type=pa.string()) \
        if not isinstance(values, (pd.Series, pd.Index)) or values.dtype != "str" else \
        pa.array(pd.Series(values, copy=False).array)
    codes = pc.index_in(arr, value_set=pa.array(index.astype("str").to_numpy(dtype=object), type=pa.string()))
    return codes.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def top_k_codes(recs: pd.DataFrame, customers: pd.Index, products: pd.Index, k: int) -> TopK:
    """The first ``k`` positions of each test customer's list (``rank`` order, ties by product) as codes;
    rows of other customers or unknown products are left out."""
    cust = codes_of(recs[contract.CUSTOMER_ID], customers)
    prod = codes_of(recs[contract.PRODUCT_ID], products)
    rank = recs[RANK].to_numpy(dtype=np.float64)
    ok = (cust >= 0) & (prod >= 0)
    cust, prod, rank = cust[ok], prod[ok], rank[ok]
    order = np.lexsort((prod, rank, cust))
    cust, prod = cust[order], prod[order]
    start = np.r_[0, np.flatnonzero(np.diff(cust)) + 1] if len(cust) else np.zeros(0, dtype=np.int64)
    pos = np.arange(len(cust)) - np.repeat(start, np.diff(np.r_[start, len(cust)])) + 1
    top = pos <= k
    return TopK(cust[top], prod[top], pos[top])


@dataclass
class Lists:
    """Every model's top-K lists as codes over the test ``customers`` and the ``products`` (sorted ids)."""

    k: int
    customers: pd.Index
    products: pd.Index
    top: dict

    @classmethod
    def of(cls, recs: dict[str, pd.DataFrame], customers, k: int, catalog=()) -> "Lists":
        """The lists of ``recs`` (model -> ``customer_id, product_id, rank`` rows) for ``customers`` at ``k``; the
        product codes span the listed products and ``catalog``."""
        customers = pd.Index(np.sort(pd.unique(np.asarray(customers, dtype=object).astype(str))))
        products = pd.Index(np.sort(pd.unique(np.concatenate(
            [np.asarray(r[contract.PRODUCT_ID].astype("str").unique(), dtype=object) for r in recs.values()]
            + [np.asarray(catalog, dtype=object).astype(str)]))))
        return cls(int(k), customers, products, {m: top_k_codes(recs[m], customers, products, k) for m in sorted(recs)})


def per_customer_by_label(lists: TopK, truth: sp.csr_matrix, labels: np.ndarray, n_labels: int,
                          k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(ndcg, recall, relevant)``, each customers x labels: each customer scored against their held-out
    products of each label (``labels``: a label code per product, -1 none; ``truth``: customers x products
    0/1). Binary gains, 1/log2(1 + position) discounts, ideal DCG over min(relevant, k), as
    :func:`workbench.evaluate.metrics.per_customer_metrics`."""
    n = truth.shape[0]
    t = truth.tocoo()
    lab = labels[t.col]
    keep = lab >= 0
    relevant = np.bincount(t.row[keep] * n_labels + lab[keep], minlength=n * n_labels).reshape(n, n_labels)
    hit = np.asarray(truth[lists.customer, lists.product]).ravel() > 0
    hit &= labels[lists.product] >= 0
    key = lists.customer[hit] * n_labels + labels[lists.product[hit]]
    # float64 even without a hit (numpy's bincount of nothing is int64, whatever the weights)
    dcg = np.bincount(key, weights=1.0 / np.log2(lists.position[hit] + 1.0),
                      minlength=n * n_labels).astype(np.float64).reshape(n, -1)
    hits = np.bincount(key, minlength=n * n_labels).reshape(n, n_labels)
    ideal = np.r_[0.0, np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))]
    idcg = ideal[np.minimum(relevant, k)]
    ndcg = np.divide(dcg, idcg, out=np.zeros_like(dcg), where=idcg > 0)
    recall = np.divide(hits, relevant, out=np.zeros(hits.shape), where=relevant > 0)
    return ndcg, recall, relevant


def popularity_bands(sales: pd.DataFrame, products: pd.Index, settings: SliceSettings = SliceSettings()) -> pd.Series:
    """Return ``head`` / ``torso`` / ``tail`` per product of ``products`` by its share of the sales lines in
    ``sales`` (most sold first, ties by product id; unsold products are tail)."""
    counts = sales[contract.PRODUCT_ID].astype("str").value_counts().reindex(products.astype("str"), fill_value=0)
    counts = counts.rename_axis(contract.PRODUCT_ID).reset_index(name="n")
    counts = counts.sort_values(["n", contract.PRODUCT_ID], ascending=[False, True], kind="stable")
    total = max(int(counts["n"].sum()), 1)
    before = (counts["n"].cumsum() - counts["n"]).to_numpy() / total  # share sold by more popular products
    band = np.where(before < settings.head_share, HEAD, np.where(before < settings.torso_share, TORSO, TAIL))
    band[counts["n"].to_numpy() == 0] = TAIL
    band = pd.Categorical(band, categories=[HEAD, TORSO, TAIL])
    return pd.Series(band, index=counts[contract.PRODUCT_ID].to_numpy(), name="popularity").reindex(products.astype("str"))


def _codes(labels: pd.Series) -> tuple[np.ndarray, list]:
    """Label codes (-1: none) and names: a categorical's in its category order, others sorted."""
    if isinstance(labels.dtype, pd.CategoricalDtype):
        return labels.cat.codes.to_numpy(dtype=np.int64), [str(c) for c in labels.cat.categories]
    codes, names = pd.factorize(labels.astype("str").where(labels.notna()), sort=True)
    return codes, list(names)


@dataclass
class SliceInputs:
    """What the slices are cut from: the relevant test pairs, per-customer labels (index: customer id; columns
    among :data:`CUSTOMER_DIMENSIONS`) and per-product labels (index: product id; columns among
    :data:`PRODUCT_DIMENSIONS`); ``skipped``: dimension -> why it is not cut (a shop without clusters, ...)."""

    truth: pd.DataFrame
    customer_labels: pd.DataFrame
    product_labels: pd.DataFrame
    skipped: dict


def slice_metrics(lists: Lists, inputs: SliceInputs, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0,
                  pairs: tuple[tuple[str, str], ...] = ()) -> pd.DataFrame:
    """Return one row per (dimension, slice, model): ``customers``, ``ndcg``, ``ndcg_low``, ``ndcg_high``,
    ``recall``, ``recall_low``, ``recall_high`` at ``lists.k`` (see the module docstring). For each ``(a, b)`` of
    ``pairs`` a row with model ``"a - b"`` gives the paired NDCG difference and its interval (recall: NaN); one
    resampling of a slice's customers serves every column."""
    customers, products, models = lists.customers, lists.products, sorted(lists.top)
    t_cust = codes_of(inputs.truth[contract.CUSTOMER_ID], customers)
    t_prod = codes_of(inputs.truth[contract.PRODUCT_ID], products)
    ok = (t_cust >= 0) & (t_prod >= 0)
    truth = sp.csr_matrix((np.ones(int(ok.sum())), (t_cust[ok], t_prod[ok])), shape=(len(customers), len(products)))
    truth.data[:] = 1.0
    pairs = tuple((a, b) for a, b in pairs if a in lists.top and b in lists.top)
    rows = []

    def add(dimension: str, names: list, per: dict, members_of) -> None:
        for j, name in enumerate(names):
            members = members_of(j)
            if not members.any():
                continue
            cols = [per[m][metric][members, j] for metric in METRICS for m in models]
            cols += [per[a]["ndcg"][members, j] - per[b]["ndcg"][members, j] for a, b in pairs]
            ci = bootstrap_ci_columns(np.column_stack(cols), n_boot, alpha, seed)
            base = {"dimension": dimension, "slice": str(name), "customers": int(members.sum())}
            for i, m in enumerate(models):
                row = {**base, "model": m}
                for mi, metric in enumerate(METRICS):
                    c = mi * len(models) + i
                    row.update({metric: ci[0, c], f"{metric}_low": ci[1, c], f"{metric}_high": ci[2, c]})
                rows.append(row)
            for pi, (a, b) in enumerate(pairs):
                c = len(METRICS) * len(models) + pi
                rows.append({**base, "model": f"{a} - {b}", "ndcg": ci[0, c], "ndcg_low": ci[1, c],
                             "ndcg_high": ci[2, c]})

    one = np.zeros(len(products), dtype=np.int64)
    overall = {m: dict(zip(METRICS, per_customer_by_label(lists.top[m], truth, one, 1, lists.k)[:2])) for m in models}
    for dimension in DIMENSIONS:
        if dimension in inputs.skipped:
            continue
        if dimension in inputs.customer_labels.columns:
            codes, names = _codes(inputs.customer_labels[dimension].reindex(customers))
            add(dimension, names, {m: {k: v[:, [0] * len(names)] for k, v in overall[m].items()} for m in models},
                lambda j, codes=codes: codes == j)
        elif dimension in inputs.product_labels.columns:
            codes, names = _codes(inputs.product_labels[dimension].reindex(products))
            per, relevant = {}, None
            for m in models:
                ndcg, recall, relevant = per_customer_by_label(lists.top[m], truth, codes, len(names), lists.k)
                per[m] = {"ndcg": ndcg, "recall": recall}
            if relevant is not None:
                add(dimension, names, per, lambda j, relevant=relevant: relevant[:, j] > 0)
    return pd.DataFrame(rows, columns=["dimension", "slice", "model", "customers", "ndcg", "ndcg_low", "ndcg_high",
                                       "recall", "recall_low", "recall_high"])


def shipped_vs_best(table: pd.DataFrame, shipped: str, best: str,
                    settings: SliceSettings = SliceSettings()) -> pd.DataFrame:
    """Return one row per slice with at least ``settings.min_customers`` customers: the ``shipped`` lists' NDCG@K,
    the ``best`` model's, their paired difference ``delta`` with its interval (``low``, ``high``; the
    ``"shipped - best"`` rows of :func:`slice_metrics`), ``loses`` when the interval lies below zero, and the
    slice's own best model. Worst delta first."""
    cols = ["dimension", "slice", "customers", "shipped", "best", "delta", "low", "high", "loses", "best_in_slice"]
    diff = table[table["model"] == f"{shipped} - {best}"]
    single = table[~table["model"].str.contains(" - ", regex=False)]
    rows = []
    for r in diff.itertuples(index=False):
        if r.customers < settings.min_customers:
            continue
        at = single[(single["dimension"] == r.dimension) & (single["slice"] == r.slice)].set_index("model")["ndcg"]
        rows.append({"dimension": r.dimension, "slice": r.slice, "customers": int(r.customers),
                     "shipped": float(at[shipped]), "best": float(at[best]), "delta": float(r.ndcg),
                     "low": float(r.ndcg_low), "high": float(r.ndcg_high), "loses": bool(r.ndcg_high < 0),
                     "best_in_slice": str(at.drop(shipped).idxmax())})
    return pd.DataFrame(rows, columns=cols).sort_values(["delta", "dimension", "slice"], ignore_index=True)


def _matrix(lists: Lists, model: str) -> sp.csr_matrix:
    t = lists.top[model]
    m = sp.csr_matrix((np.ones(len(t.customer)), (t.customer, t.product)), shape=(len(lists.customers), len(lists.products)))
    m.data[:] = 1.0
    return m


def overlap_matrix(lists: Lists) -> pd.DataFrame:
    """Return models x models: the mean over the test customers of the Jaccard similarity of two models' top-K
    lists (|A n B| / |A u B|; two empty lists count 1)."""
    models = sorted(lists.top)
    mats = [_matrix(lists, m) for m in models]
    sizes = [np.asarray(a.sum(axis=1)).ravel() for a in mats]
    out = np.eye(len(models))
    for i in range(len(models)):
        for j in range(i + 1, len(models)):
            inter = np.asarray(mats[i].multiply(mats[j]).sum(axis=1)).ravel()
            union = sizes[i] + sizes[j] - inter
            jac = np.divide(inter, union, out=np.ones_like(inter), where=union > 0)
            out[i, j] = out[j, i] = float(jac.mean()) if len(jac) else np.nan
    return pd.DataFrame(out, index=pd.Index(models, name="model"), columns=models)


def beyond_accuracy(lists: Lists, train: pd.DataFrame, n_items: int,
                    item_features: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return one row per model: ``coverage`` (share of the ``n_items`` catalog in some top-K list of the test
    customers), ``novelty`` (mean -log2 share of ``train`` customers with the product) and ``diversity``
    (intra-list diversity over ``item_features``; absent without them)."""
    info = self_information(train)
    products = lists.products.to_numpy(dtype=object)
    rows = []
    for m in sorted(lists.top):
        t = lists.top[m]
        frame = pd.DataFrame({contract.CUSTOMER_ID: t.customer, contract.PRODUCT_ID: products[t.product]})
        row = {"model": m, "coverage": len(np.unique(t.product)) / max(int(n_items), 1), "novelty": novelty(frame, info)}
        if item_features is not None:
            row["diversity"] = intra_list_diversity(frame, item_features)
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")

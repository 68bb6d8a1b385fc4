"""Ranking, beyond-accuracy and rating metrics: pure functions over DataFrames, vectorised.

Inputs follow microsoft/recommenders' ``python_evaluation`` conventions:

- ``rating_true``: the held-out interactions, one row per relevant (customer, product) pair; every
  row counts as relevant (filter it first for a rating threshold). Duplicate pairs count once.
- ``rating_pred``: recommendations, one row per (customer, product) with a ``rank`` column (1 = best;
  the output of ``Recommender.recommend``). Without ``col_rank`` the rank is derived from ``col_score``
  (higher is better). Only the first ``k`` positions of each customer count; a product listed twice
  for a customer counts at its best position.

Per-customer definitions at K (``n_rel`` = the customer's relevant items, ``hits`` = relevant items in
the top K, ``pos`` = 1-based position of a hit):

- precision = hits / K (K even when fewer than K products were recommended, as in Spark / microsoft)
- recall = hits / n_rel
- ap = sum over hits of (hits up to and including pos) / pos, divided by n_rel. This is the MAP of the
  microsoft/recommenders MovieLens benchmark table (their ``map_at_k`` when the table was made; it is
  their ``map`` today). ``map_normalize="min_k"`` divides by min(n_rel, K) instead (their current
  ``map_at_k``, Spark's ``meanAveragePrecisionAt``).
- ndcg = DCG / IDCG with binary gains and 1/log2(1 + pos) discounts, IDCG over min(n_rel, K) items
  (the log base cancels, so this equals microsoft's natural-log version)
- hit = 1 if hits > 0; rr = 1 / position of the first hit (0 without one)

The model-level ``*_at_k`` functions are means over the customers of ``rating_true``: a customer with
no recommendations scores 0 on every metric (microsoft averages over customers present in both
frames; when every test customer gets a list, as in their benchmark, the two agree).
"""
from __future__ import annotations

import logging
from typing import Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench.data import contract

log = logging.getLogger(__name__)

RANK = "rank"
SCORE = "score"
#: per-customer metric columns, in order
PER_CUSTOMER_COLUMNS = ("precision", "recall", "ap", "ndcg", "hit", "rr")
#: model-level metric names, as used in ``evaluate_ranking`` keys (``<name>@<k>``)
METRIC_NAMES = {"precision": "precision", "recall": "recall", "ap": "map", "ndcg": "ndcg", "hit": "hit",
                "rr": "mrr"}


def _check_columns(df: pd.DataFrame, cols, what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"{what}: column(s) {missing} not found (columns: {list(df.columns)}); pass the column "
                       f"names via col_user / col_item / col_rank")


def _positions(rating_pred: pd.DataFrame, ucode: np.ndarray, col_rank: str | None,
               col_score: str) -> np.ndarray:
    """Sort key that orders each customer's recommendations best first."""
    if col_rank is not None and col_rank in rating_pred.columns:
        return rating_pred[col_rank].to_numpy(dtype=np.float64)
    if col_score in rating_pred.columns:
        return -rating_pred[col_score].to_numpy(dtype=np.float64)
    raise KeyError(f"rating_pred needs a '{col_rank}' column (1 = best) or a '{col_score}' column "
                   f"(higher = better); it has {list(rating_pred.columns)}")


def _hits_table(rating_true: pd.DataFrame, rating_pred: pd.DataFrame, k: int, col_user: str, col_item: str,
                col_rank: str | None, col_score: str):
    """Customers, relevant counts and the top-k recommendation rows (user code, position, is-hit)."""
    if k < 1:
        raise ValueError(f"k must be >= 1, not {k}")
    _check_columns(rating_true, [col_user, col_item], "rating_true")
    _check_columns(rating_pred, [col_user, col_item], "rating_pred")
    # codes in the sorted order of the distinct ids (numpy.unique's inverse), found by hashing: sorting millions
    # of id strings costs far more than sorting the few thousand distinct ones
    t_ucode, users = pd.factorize(rating_true[col_user].astype("str"), sort=True)
    users = pd.Index(np.asarray(users, dtype=object))
    pu = users.get_indexer(rating_pred[col_user].astype("str"))
    ti = rating_true[col_item].astype("str")
    icode, items = pd.factorize(pd.concat([ti, rating_pred[col_item].astype("str")], ignore_index=True), sort=True)
    t_icode, p_icode = icode[:len(ti)], icode[len(ti):]
    n_items = max(len(items), 1)
    t_key = np.unique(t_ucode.astype(np.int64) * n_items + t_icode)
    n_rel = np.bincount(t_key // n_items, minlength=len(users))

    key_pos = _positions(rating_pred, pu, col_rank, col_score)
    keep = pu >= 0
    pu, p_icode, key_pos = pu[keep], p_icode[keep], key_pos[keep]
    order = np.lexsort((p_icode, key_pos, pu))  # per customer, best first (ties: product id)
    pu, p_icode = pu[order], p_icode[order]
    p_key = pu.astype(np.int64) * n_items + p_icode
    first = np.ones(len(p_key), dtype=bool)
    if len(p_key):
        _, first_idx = np.unique(p_key, return_index=True)
        first[:] = False
        first[first_idx] = True
    pu, p_key = pu[first], p_key[first]  # drop repeated products (keep the best position)
    new_user = np.r_[True, pu[1:] != pu[:-1]] if len(pu) else np.zeros(0, dtype=bool)
    start = np.maximum.accumulate(np.where(new_user, np.arange(len(pu)), 0)) if len(pu) else pu
    pos = np.arange(len(pu)) - start + 1
    top = pos <= k
    pu, p_key, pos = pu[top], p_key[top], pos[top]
    hit = np.isin(p_key, t_key)
    return users, n_rel, pu, pos, hit


def per_customer_metrics(rating_true: pd.DataFrame, rating_pred: pd.DataFrame, k: int = 10,
                         col_user: str = contract.CUSTOMER_ID, col_item: str = contract.PRODUCT_ID, col_rank: str | None = RANK,
                         col_score: str = SCORE, map_normalize: str = "relevant") -> pd.DataFrame:
    """Return one row per customer of ``rating_true``: [customer_id, precision, recall, ap, ndcg, hit, rr] at ``k``.

    See the module docstring for the definitions; ``map_normalize`` is ``relevant`` (divide AP by the
    number of relevant items, the microsoft benchmark table) or ``min_k`` (by min(n_rel, k)).
    """
    if map_normalize not in ("relevant", "min_k"):
        raise ValueError(f"map_normalize must be 'relevant' or 'min_k', not {map_normalize!r}")
    users, n_rel, pu, pos, hit = _hits_table(rating_true, rating_pred, k, col_user, col_item, col_rank, col_score)
    return _aggregate(users, n_rel, pu, pos, hit, k, map_normalize, col_user)


def _aggregate(users: pd.Index, n_rel: np.ndarray, pu: np.ndarray, pos: np.ndarray, hit: np.ndarray, k: int,
               map_normalize: str, col_user: str) -> pd.DataFrame:
    """Per-customer metrics at ``k`` from the top-k rows (user code, position, is-hit) sorted by user, position."""
    n = len(users)
    top = pos <= k
    hu, hpos = pu[hit & top], pos[hit & top]
    hits = np.bincount(hu, minlength=n).astype(np.float64)
    new_user = np.r_[True, hu[1:] != hu[:-1]] if len(hu) else np.zeros(0, dtype=bool)
    start = np.maximum.accumulate(np.where(new_user, np.arange(len(hu)), 0)) if len(hu) else hu
    cum_hits = np.arange(len(hu)) - start + 1  # hits up to and including this one
    ap_sum = np.bincount(hu, weights=cum_hits / hpos, minlength=n)
    dcg = np.bincount(hu, weights=1.0 / np.log2(hpos + 1.0), minlength=n)
    ideal = np.r_[0.0, np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))]
    idcg = ideal[np.minimum(n_rel, k)]
    rr = np.zeros(n)
    rr[hu[new_user]] = 1.0 / hpos[new_user]
    denom_ap = n_rel if map_normalize == "relevant" else np.minimum(n_rel, k)
    return pd.DataFrame({
        col_user: users.to_numpy(),
        "precision": hits / k,
        "recall": hits / np.maximum(n_rel, 1),
        "ap": ap_sum / np.maximum(denom_ap, 1),
        "ndcg": np.divide(dcg, idcg, out=np.zeros(n), where=idcg > 0),
        "hit": (hits > 0).astype(np.float64),
        "rr": rr,
    })


def _mean_metric(column: str, rating_true, rating_pred, k, **kw) -> float:
    pc = per_customer_metrics(rating_true, rating_pred, k=k, **kw)
    return float(pc[column].mean()) if len(pc) else 0.0


def precision_at_k(rating_true: pd.DataFrame, rating_pred: pd.DataFrame, k: int = 10, **cols) -> float:
    """Return precision@k: mean over customers of hits in the top k / k."""
    return _mean_metric("precision", rating_true, rating_pred, k, **cols)


def recall_at_k(rating_true: pd.DataFrame, rating_pred: pd.DataFrame, k: int = 10, **cols) -> float:
    """Return recall@k: mean over customers of hits in the top k / relevant items."""
    return _mean_metric("recall", rating_true, rating_pred, k, **cols)


def map_at_k(rating_true: pd.DataFrame, rating_pred: pd.DataFrame, k: int = 10, **cols) -> float:
    """Return MAP@k: mean average precision of the top k (normalised as the microsoft benchmark table)."""
    return _mean_metric("ap", rating_true, rating_pred, k, **cols)


def ndcg_at_k(rating_true: pd.DataFrame, rating_pred: pd.DataFrame, k: int = 10, **cols) -> float:
    """Return nDCG@k with binary relevance, averaged over customers."""
    return _mean_metric("ndcg", rating_true, rating_pred, k, **cols)


def hit_rate_at_k(rating_true: pd.DataFrame, rating_pred: pd.DataFrame, k: int = 10, **cols) -> float:
    """Return hit rate@k: share of customers with at least one relevant item in their top k."""
    return _mean_metric("hit", rating_true, rating_pred, k, **cols)


def mrr_at_k(rating_true: pd.DataFrame, rating_pred: pd.DataFrame, k: int = 10, **cols) -> float:
    """Return MRR@k: mean over customers of 1 / position of the first hit in the top k (0 without one)."""
    return _mean_metric("rr", rating_true, rating_pred, k, **cols)


def top_k_rows(rating_pred: pd.DataFrame, k: int | None, col_user: str = contract.CUSTOMER_ID,
               col_rank: str | None = RANK, col_score: str = SCORE) -> pd.DataFrame:
    """Return the rows of ``rating_pred`` in each customer's first ``k`` positions (all rows if k is None)."""
    if k is None:
        return rating_pred
    key = _positions(rating_pred, None, col_rank, col_score)
    order = np.lexsort((key, pd.factorize(rating_pred[col_user].astype("str"), sort=True)[0]))
    srt = rating_pred.iloc[order]
    pos = srt.groupby(col_user, sort=False, observed=True).cumcount().to_numpy() + 1
    return srt[pos <= k].sort_index()


def catalog_coverage(rating_pred: pd.DataFrame, n_items: int, col_item: str = contract.PRODUCT_ID,
                     k: int | None = None, col_user: str = contract.CUSTOMER_ID, col_rank: str | None = RANK) -> float:
    """Return the share of the catalog (``n_items`` products) recommended to at least one customer (top ``k``)."""
    if n_items <= 0:
        raise ValueError(f"n_items must be the catalog size (> 0), not {n_items}")
    rows = top_k_rows(rating_pred, k, col_user, col_rank)
    return float(rows[col_item].nunique() / n_items)


def self_information(train: pd.DataFrame, col_user: str = contract.CUSTOMER_ID,
                     col_item: str = contract.PRODUCT_ID) -> tuple[pd.Series, int]:
    """Return ``(customers per product, customers)`` of ``train``: what :func:`novelty`'s p(i) is made of."""
    _check_columns(train, [col_user, col_item], "novelty(train)")
    pairs = train[[col_user, col_item]].astype("str").drop_duplicates()
    return pairs[col_item].value_counts(), max(pairs[col_user].nunique(), 1)


def novelty(rating_pred: pd.DataFrame, train: pd.DataFrame | tuple[pd.Series, int],
            col_user: str = contract.CUSTOMER_ID, col_item: str = contract.PRODUCT_ID) -> float:
    """Return the mean self-information -log2(p(i)) of recommended items, p(i) = share of train customers with i.

    Items nobody had in train count as if one customer had them (the most novel possible). ``train`` may be
    :func:`self_information`'s result (computed once for many lists).
    """
    users_per_item, n_users = train if isinstance(train, tuple) else self_information(train, col_user, col_item)
    _check_columns(rating_pred, [col_item], "novelty(rating_pred)")
    if len(rating_pred) == 0:
        return 0.0
    cnt = users_per_item.reindex(rating_pred[col_item].astype("str")).fillna(1.0).to_numpy(dtype=np.float64)
    return float(np.mean(-np.log2(np.maximum(cnt, 1.0) / n_users)))


def intra_list_diversity(rating_pred: pd.DataFrame, item_features: pd.DataFrame, col_user: str = contract.CUSTOMER_ID,
                         col_item: str = contract.PRODUCT_ID) -> float:
    """Return mean over customers (with >= 2 items) of 1 - mean pairwise cosine similarity of their list.

    ``item_features`` holds numeric feature columns per product, indexed by product id (or with a
    ``col_item`` column), e.g. one-hot categories or an embedding. Products without features are ignored.
    """
    feats = item_features.set_index(col_item) if col_item in item_features.columns else item_features
    feats = feats.select_dtypes(include=[np.number, "bool"])
    if feats.shape[1] == 0:
        raise ValueError("item_features has no numeric columns: pass one-hot or embedding columns per product")
    feats.index = feats.index.astype("str")
    F = feats.to_numpy(dtype=np.float64)
    norm = np.linalg.norm(F, axis=1, keepdims=True)
    F = np.divide(F, norm, out=np.zeros_like(F), where=norm > 0)
    icode = feats.index.get_indexer(rating_pred[col_item].astype("str"))
    ok = icode >= 0
    ucode, ucodes = pd.factorize(rating_pred[col_user].astype("str")[ok], sort=True)
    icode = icode[ok]
    if len(ucodes) == 0:
        return 0.0
    M = sp.csr_matrix((np.ones(len(icode)), (ucode, icode)), shape=(len(ucodes), len(F)))
    M.data[:] = 1.0  # a product listed twice counts once
    S = np.asarray(M @ F)  # sum of unit vectors per customer
    self_sim = np.asarray(M @ (F * F).sum(axis=1)).ravel()
    n = np.asarray(M.sum(axis=1)).ravel()
    pair_sim = (np.einsum("ij,ij->i", S, S) - self_sim) / 2.0
    n_pairs = n * (n - 1) / 2.0
    sel = n_pairs > 0
    if not sel.any():
        return 0.0
    return float(np.mean(1.0 - pair_sim[sel] / n_pairs[sel]))


def _as_float_array(x, what: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64).ravel()
    if not np.isfinite(a).all():
        raise ValueError(f"{what} has NaN or infinite values: drop or fill them first")
    return a


def rmse(true, pred) -> float:
    """Return the root mean squared error of predicted vs true ratings (aligned array-likes)."""
    t, p = _as_float_array(true, "true"), _as_float_array(pred, "pred")
    if t.shape != p.shape or len(t) == 0:
        raise ValueError(f"true and pred must be non-empty and of equal length ({len(t)} vs {len(p)})")
    return float(np.sqrt(np.mean((t - p) ** 2)))


def mae(true, pred) -> float:
    """Return the mean absolute error of predicted vs true ratings (aligned array-likes)."""
    t, p = _as_float_array(true, "true"), _as_float_array(pred, "pred")
    if t.shape != p.shape or len(t) == 0:
        raise ValueError(f"true and pred must be non-empty and of equal length ({len(t)} vs {len(p)})")
    return float(np.mean(np.abs(t - p)))


def summarize(per_customer: pd.DataFrame, k: int = 10) -> dict:
    """Return the model-level means of a :func:`per_customer_metrics` frame as ``{"precision@k": ...}``."""
    return {f"{METRIC_NAMES[c]}@{k}": float(per_customer[c].mean()) if len(per_customer) else 0.0
            for c in PER_CUSTOMER_COLUMNS}


def evaluate_ranking(rating_true: pd.DataFrame, rating_pred: pd.DataFrame, k: int = 10, n_items: int | None = None,
                     col_user: str = contract.CUSTOMER_ID, col_item: str = contract.PRODUCT_ID, col_rank: str | None = RANK,
                     col_score: str = SCORE, map_normalize: str = "relevant") -> dict:
    """Return ``{"precision@k", "recall@k", "map@k", "ndcg@k", "hit@k", "mrr@k", "coverage"}`` for one model.

    ``coverage`` is the share of ``n_items`` products recommended in some top k; without ``n_items``
    the catalog is taken as the products seen in either frame.
    """
    pc = per_customer_metrics(rating_true, rating_pred, k, col_user, col_item, col_rank, col_score, map_normalize)
    out = summarize(pc, k)
    if n_items is None:
        n_items = len(np.union1d(rating_true[col_item].astype("str").unique(),
                                 rating_pred[col_item].astype("str").unique()))
    out["coverage"] = catalog_coverage(rating_pred, max(int(n_items), 1), col_item, k, col_user, col_rank) \
        if len(rating_pred) else 0.0
    return out


def ranking_curve(rating_true: pd.DataFrame, rating_pred: pd.DataFrame, ks: Iterable[int] = (1, 2, 3, 5, 10, 20),
                  col_user: str = contract.CUSTOMER_ID, col_item: str = contract.PRODUCT_ID, col_rank: str | None = RANK,
                  col_score: str = SCORE) -> pd.DataFrame:
    """Return one row per K: [k, precision, recall, map, ndcg, hit, mrr] (for P@K / R@K curves)."""
    ks = sorted(set(int(x) for x in ks))
    if not ks or ks[0] < 1:
        raise ValueError(f"ks must be positive cut-offs, not {ks}")
    users, n_rel, pu, pos, hit = _hits_table(rating_true, rating_pred, ks[-1], col_user, col_item, col_rank, col_score)
    rows = []
    for k in ks:  # one hits table at the largest K, cut at each K
        pc = _aggregate(users, n_rel, pu, pos, hit, k, "relevant", col_user)
        rows.append({"k": k, **{METRIC_NAMES[c]: float(pc[c].mean()) if len(pc) else 0.0
                                for c in PER_CUSTOMER_COLUMNS}})
    return pd.DataFrame(rows)

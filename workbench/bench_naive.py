"""Naive references for the bench's two heaviest stages, written the way tutorials write them.

``make bench`` times these next to the package's own stages on the same shop in the same process and
reports ``naive / fast``: a ratio survives a change of machine (or a busy shared one) where seconds do not.

* RFM (:func:`naive_rfm`): revenue by a row-wise ``apply(axis=1)``, one Python function per customer
  through ``groupby().apply``, segments by a row-wise ``apply`` over the regex map. Same conventions as
  :mod:`workbench.segment.rfm` (purchase lines for recency and frequency, net revenue for monetary), so
  both give the same table.
* Frequent itemsets and rules (:func:`naive_itemsets`): the dense one-hot baskets x products table of the
  classic tutorial (``groupby().sum().unstack()``) and mlxtend ``apriori`` on it, then mlxtend's rules; the
  fast side is the bench's basket stage (``mine_rules``: sparse itemset counting, mlxtend's rules). apriori
  runs with ``low_memory=True``: its default materialises a baskets x candidate pairs x 2 boolean array,
  35,514 x ~123,000 x 2 bytes = ~8.7 GB on the 10K-customer shop, so the default cannot run here.

These are references for timing only; nothing else in the package uses them.
"""
from __future__ import annotations

import logging
import re
import statistics
import time

import numpy as np
import pandas as pd

from workbench.data import contract as C

log = logging.getLogger(__name__)


def naive_rfm(transactions: pd.DataFrame, analysis_date: pd.Timestamp,
              segment_map: dict[str, str] | None = None) -> pd.DataFrame:
    """Return per customer with transactions (sorted by id): recency, frequency, monetary, r/f/m scores, segment.

    Written row by row and customer by customer on purpose (see the module docstring).
    """
    from workbench.segment.rfm import (DEFAULT_SEGMENT_MAP, F_SCORE, FREQUENCY, M_SCORE, MONETARY, NO_PURCHASE,
                                       R_SCORE, RECENCY, SEGMENT, quantile_scores)

    date = pd.Timestamp(analysis_date)
    tx = transactions[transactions[C.TIMESTAMP] < date].copy()
    tx[C.REVENUE] = tx.apply(lambda row: row[C.QUANTITY] * row[C.UNIT_PRICE], axis=1)  # row-wise, as in tutorials

    def one_customer(g: pd.DataFrame) -> pd.Series:
        buys = g[g[C.QUANTITY] > 0]
        return pd.Series({
            RECENCY: (date - buys[C.TIMESTAMP].max()).days if len(buys) else np.nan,
            FREQUENCY: buys[C.TRANSACTION_ID].nunique(),
            MONETARY: g[C.REVENUE].sum(),
        })

    cols = [C.TRANSACTION_ID, C.QUANTITY, C.TIMESTAMP, C.REVENUE]
    table = tx.groupby(C.CUSTOMER_ID)[cols].apply(one_customer)
    table[FREQUENCY] = table[FREQUENCY].astype("int64")
    buyers = table[table[FREQUENCY] > 0]
    table[R_SCORE] = quantile_scores(buyers[RECENCY], reverse=True)
    table[F_SCORE] = quantile_scores(buyers[FREQUENCY], rank_first=True)
    table[M_SCORE] = quantile_scores(buyers[MONETARY])
    patterns = {name: re.compile(p) for name, p in (segment_map or DEFAULT_SEGMENT_MAP).items()}

    def segment_of(row: pd.Series) -> str:
        if pd.isna(row[R_SCORE]):
            return NO_PURCHASE
        cell = f"{int(row[R_SCORE])}{int(row[F_SCORE])}"
        return next(name for name, p in patterns.items() if p.fullmatch(cell))

    table[SEGMENT] = table.apply(segment_of, axis=1)  # row-wise
    return table.reset_index()


def naive_itemsets(transactions: pd.DataFrame, min_support: float, max_len: int | None = None,
                   min_confidence: float = 0.1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(itemsets, rules)`` from a dense one-hot basket table and mlxtend apriori (itemsets: sorted tuples)."""
    from mlxtend.frequent_patterns import apriori, association_rules

    sales = transactions[transactions[C.QUANTITY] > 0]
    basket = sales.groupby([C.TRANSACTION_ID, C.PRODUCT_ID])[C.QUANTITY].sum().unstack().fillna(0)
    onehot = basket > 0  # dense baskets x products booleans
    fi = apriori(onehot, min_support=min_support, use_colnames=True, max_len=max_len, low_memory=True)
    rules = association_rules(df=fi, num_itemsets=len(onehot), metric="confidence", min_threshold=min_confidence)
    fi["itemsets"] = [tuple(sorted(s)) for s in fi["itemsets"]]
    return fi, rules


def _time(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def _spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def same_rfm(fast: pd.DataFrame, naive: pd.DataFrame) -> bool:
    """Return True when both tables give the buyers the same recency, frequency, monetary and segment."""
    from workbench.segment.rfm import FREQUENCY, MONETARY, RECENCY, SEGMENT

    f = fast[fast[FREQUENCY] > 0].set_index(C.CUSTOMER_ID).sort_index()
    n = naive[naive[FREQUENCY] > 0].set_index(C.CUSTOMER_ID).sort_index()
    if not f.index.equals(n.index):
        return False
    return bool((f[RECENCY].astype("int64").to_numpy() == n[RECENCY].astype("int64").to_numpy()).all()
                and (f[FREQUENCY].to_numpy() == n[FREQUENCY].to_numpy()).all()
                and np.allclose(f[MONETARY].to_numpy(), n[MONETARY].to_numpy())
                and (f[SEGMENT].astype("str").to_numpy() == n[SEGMENT].astype("str").to_numpy()).all())


def same_itemsets(fast: pd.DataFrame, naive: pd.DataFrame) -> bool:
    """Return True when both hold the same itemsets with the same supports."""
    a = pd.Series(fast["support"].to_numpy(), index=[tuple(s) for s in fast["itemsets"]]).sort_index()
    b = pd.Series(naive["support"].to_numpy(), index=[tuple(s) for s in naive["itemsets"]]).sort_index()
    return bool(len(a) == len(b) and (a.index == b.index).all() and np.allclose(a.to_numpy(), b.to_numpy()))


def run_references(n_customers: int, repeats: int, cfg: dict) -> dict:
    """Return fast and naive seconds (median, min, max over ``repeats``) of RFM and itemset mining on one shop.

    Shape: ``{"n_customers", "repeats", "references": {"rfm": {"fast", "naive", "fast_s", "naive_s",
    "same_result"}, "basket": {...}}}``.
    """
    from workbench.data.synthetic import generate_shop
    from workbench.data.validate import validate_shop
    from workbench.recommend.basket import basket_matrix, mine_rules, resolve_min_support
    from workbench.segment.rfm import build_rfm, default_analysis_date

    raw = generate_shop({"n_customers": int(n_customers), "n_products": cfg["n_products"],
                         "n_weeks": cfg["n_weeks"], "seed": cfg["seed"], "events": False})
    shop, _ = validate_shop(raw)
    tx = shop.transactions
    date = default_analysis_date(tx)
    b = cfg["basket"]
    n_baskets = basket_matrix(tx)[0].shape[0]
    support = resolve_min_support(n_baskets, b.get("min_support"), b.get("min_baskets", 5))
    refs = {
        "rfm": {"fast": "segment.rfm.build_rfm", "naive": "row-wise pandas (apply per row and per customer)",
                "fast_s": [], "naive_s": []},
        "basket": {"fast": "recommend.basket.mine_rules (sparse counting + mlxtend rules)",
                   "naive": "dense one-hot + mlxtend apriori", "fast_s": [], "naive_s": []},
    }
    same = {}
    for r in range(int(repeats)):
        t, fast = _time(build_rfm, tx, shop.customers)
        refs["rfm"]["fast_s"].append(t)
        t, slow = _time(naive_rfm, tx, date)
        refs["rfm"]["naive_s"].append(t)
        same["rfm"] = same_rfm(fast, slow)
        t, (fi_fast, _, _) = _time(mine_rules, tx, **b)
        refs["basket"]["fast_s"].append(t)
        t, (fi_slow, _) = _time(naive_itemsets, tx, support, b["max_len"], b["min_confidence"])
        refs["basket"]["naive_s"].append(t)
        same["basket"] = same_itemsets(fi_fast, fi_slow)
        log.info("naive references, repetition %d: rfm %.2f s vs %.2f s, basket %.2f s vs %.2f s", r + 1,
                 refs["rfm"]["fast_s"][-1], refs["rfm"]["naive_s"][-1], refs["basket"]["fast_s"][-1],
                 refs["basket"]["naive_s"][-1])
    for name, rec in refs.items():
        rec["fast_s"], rec["naive_s"] = _spread(rec["fast_s"]), _spread(rec["naive_s"])
        rec["same_result"] = same[name]
    return {"n_customers": int(n_customers), "repeats": int(repeats), "min_support": support, "references": refs}

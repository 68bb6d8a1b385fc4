"""The tools a data scientist would pick instead of the package, timed next to it on the same shop.

``make bench`` runs each pair in one process on one shop (:data:`workbench.bench.PEER_SIZE` customers) and
reports ``peer / package`` with a "same result" column: a ratio survives a change of machine (or a busy shared
one) where seconds do not.

* RFM (:func:`pandas_rfm`, :func:`duckdb_rfm`): idiomatic pandas (``groupby().agg`` over the lines, ``pd.qcut``
  scores, the segment map) and DuckDB SQL (the same aggregation as one ``GROUP BY``, then the same scores);
  the package side is :func:`workbench.segment.rfm.build_rfm`. Same result = equal recency, frequency,
  monetary (to 1e-9) and segment for every buyer.
* Frequent itemsets and rules (:func:`mlxtend_rules`): mlxtend's ``TransactionEncoder`` (sparse), ``fpgrowth``
  (``max_len``) and ``association_rules``, the way its documentation writes it; the package side is
  :func:`workbench.recommend.basket.mine_rules` (sparse counting of up to 3-item sets, mlxtend's rules).
  Same result = the same rules (antecedent, consequent) with support and confidence within 1e-9.
* Collaborative filtering, fit + top-10 for every customer (:func:`implicit_als`): ``implicit``'s ALS at the
  protocol's settings, its own ``recommend`` for all users with bought items filtered; the package side is
  the bench's cf stage (item-kNN and EASE). These are different models, so the column gives each one's
  nDCG@10 on the same chronological hold-out instead of an equality.
"""
from __future__ import annotations

import logging
import statistics
import time

import numpy as np
import pandas as pd

from workbench.data import contract as data_contract

log = logging.getLogger(__name__)


# ---- RFM ------------------------------------------------------------------------------------------------

def _scores_and_segments(table: pd.DataFrame) -> pd.DataFrame:
    """1-5 scores with ``pd.qcut`` on the buyers and the default segment map, as a tutorial does it."""
    from workbench.segment.rfm import DEFAULT_SEGMENT_MAP, NO_PURCHASE

    b = table["frequency"] > 0
    t = table.copy()
    t["r_score"] = pd.qcut(t.loc[b, "recency"], 5, labels=[5, 4, 3, 2, 1]).astype("Int64")
    t["f_score"] = pd.qcut(t.loc[b, "frequency"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5]).astype("Int64")
    t["m_score"] = pd.qcut(t.loc[b, "monetary"], 5, labels=[1, 2, 3, 4, 5]).astype("Int64")
    rf = t["r_score"].astype("str") + t["f_score"].astype("str")
    t["segment"] = rf.replace({f"^{p}$": name for name, p in DEFAULT_SEGMENT_MAP.items()}, regex=True)
    t.loc[~b, "segment"] = NO_PURCHASE
    return t


def pandas_rfm(transactions: pd.DataFrame, analysis_date: pd.Timestamp) -> pd.DataFrame:
    """RFM the idiomatic pandas way: a revenue column, ``groupby(customer).agg``, then scores and segments."""
    tx = transactions[transactions[data_contract.TIMESTAMP] < analysis_date].assign(
        revenue=lambda d: d[data_contract.QUANTITY] * d[data_contract.UNIT_PRICE])
    buys = tx[tx[data_contract.QUANTITY] > 0]
    table = pd.DataFrame({
        "last": buys.groupby(data_contract.CUSTOMER_ID)[data_contract.TIMESTAMP].max(),
        "frequency": buys.groupby(data_contract.CUSTOMER_ID)[data_contract.TRANSACTION_ID].nunique(),
        "monetary": tx.groupby(data_contract.CUSTOMER_ID)["revenue"].sum(),
    })
    table["frequency"] = table["frequency"].fillna(0).astype("int64")
    table["recency"] = (analysis_date - table["last"]).dt.days
    return _scores_and_segments(table.drop(columns="last").rename_axis(data_contract.CUSTOMER_ID).reset_index())


def duckdb_rfm(transactions: pd.DataFrame, analysis_date: pd.Timestamp) -> pd.DataFrame:
    """RFM as DuckDB SQL over the pandas frame (one ``GROUP BY``), then the same scores and segments."""
    import duckdb

    tx = transactions[[data_contract.CUSTOMER_ID, data_contract.TRANSACTION_ID, data_contract.TIMESTAMP, data_contract.QUANTITY, data_contract.UNIT_PRICE]]
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 1")  # the package side is single-threaded too
        con.register("tx", tx)
        table = con.execute(f"""
            SELECT customer_id,
                   date_diff('day', max(CASE WHEN quantity > 0 THEN "timestamp" END), TIMESTAMP '{analysis_date}')
                       AS recency_raw,
                   max(CASE WHEN quantity > 0 THEN "timestamp" END) AS last,
                   count(DISTINCT CASE WHEN quantity > 0 THEN transaction_id END) AS frequency,
                   sum(quantity * unit_price) AS monetary
            FROM tx WHERE "timestamp" < TIMESTAMP '{analysis_date}'
            GROUP BY customer_id ORDER BY customer_id""").df()
    finally:
        con.close()
    # whole days floored (date_diff counts calendar-day boundaries): the same convention as the package
    table["recency"] = (analysis_date - table["last"]).dt.days
    return _scores_and_segments(table.drop(columns=["recency_raw", "last"]))


def same_rfm(fast: pd.DataFrame, peer: pd.DataFrame) -> bool:
    """Return True when both give every buyer the same recency, frequency, monetary (1e-9) and segment."""
    f = fast[fast["frequency"] > 0].set_index(data_contract.CUSTOMER_ID).sort_index()
    p = peer[peer["frequency"] > 0].set_index(peer[peer["frequency"] > 0][data_contract.CUSTOMER_ID].astype("str")).sort_index()
    if not f.index.astype("str").equals(p.index):
        return False
    return bool((f["recency"].astype("int64").to_numpy() == p["recency"].astype("int64").to_numpy()).all()
                and (f["frequency"].to_numpy() == p["frequency"].to_numpy()).all()
                and np.allclose(f["monetary"].to_numpy(), p["monetary"].to_numpy(), rtol=0, atol=1e-9)
                and (f["segment"].astype("str").to_numpy() == p["segment"].astype("str").to_numpy()).all())


# ---- baskets ---------------------------------------------------------------------------------------------

def mlxtend_rules(transactions: pd.DataFrame, min_support: float, max_len: int | None = 3,
                  min_confidence: float = 0.1, min_lift: float | None = 1.0) -> pd.DataFrame:
    """Rules the way mlxtend's documentation writes them: invoices as item lists, ``TransactionEncoder``
    (sparse), ``fpgrowth`` and ``association_rules``; one-item consequents and lift above ``min_lift``."""
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    sales = transactions[transactions[data_contract.QUANTITY] > 0]
    baskets = sales.groupby(data_contract.TRANSACTION_ID)[data_contract.PRODUCT_ID].apply(lambda s: sorted(set(map(str, s)))).tolist()
    te = TransactionEncoder()
    onehot = pd.DataFrame.sparse.from_spmatrix(te.fit(baskets).transform(baskets, sparse=True), columns=te.columns_)
    fi = fpgrowth(onehot, min_support=min_support, use_colnames=True, max_len=max_len)
    rules = association_rules(fi, num_itemsets=len(baskets), metric="confidence", min_threshold=min_confidence)
    rules = rules[rules["consequents"].map(len) == 1]
    return rules[rules["lift"] > min_lift] if min_lift is not None else rules


def same_rules(fast: pd.DataFrame, peer: pd.DataFrame) -> bool:
    """Return True when both hold the same (antecedents, consequent) rules with support and confidence within 1e-9."""
    def keyed(r):
        key = [("|".join(sorted(map(str, a))), "|".join(sorted(map(str, c))))
               for a, c in zip(r["antecedents"], r["consequents"])]
        return r[["support", "confidence"]].set_axis(pd.MultiIndex.from_tuples(key), axis=0).sort_index()

    if len(fast) != len(peer):
        return False
    a, b = keyed(fast), keyed(peer)
    return bool(len(a) == 0 or (a.index.equals(b.index) and np.allclose(a.to_numpy(), b.to_numpy(), rtol=0, atol=1e-9)))


# ---- collaborative filtering --------------------------------------------------------------------------------

def implicit_als(interactions, k: int = 10, factors: int = 32, regularization: float = 1.0, alpha: float = 1.0,
                 iterations: int = 15, seed: int = 42) -> pd.DataFrame:
    """``implicit`` ALS fitted on the binary customer x product matrix, then its own ``recommend`` for every
    customer with bought items filtered: ``[customer_id, product_id, rank]``."""
    import scipy.sparse as sp
    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    X = sp.csr_matrix(interactions.binary(), dtype=np.float32)
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=factors, regularization=regularization, alpha=alpha,
                                        iterations=iterations, random_state=seed, num_threads=1)
        model.fit(X, show_progress=False)
        ids, _ = model.recommend(np.arange(X.shape[0]), X, N=k, filter_already_liked_items=True)
    return pd.DataFrame({data_contract.CUSTOMER_ID: np.repeat(np.asarray(interactions.customer_ids, dtype=object), ids.shape[1]),
                         data_contract.PRODUCT_ID: np.asarray(interactions.product_ids, dtype=object)[ids.ravel()],
                         "rank": np.tile(np.arange(1, ids.shape[1] + 1), ids.shape[0])})


def _time(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def _spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def run_peers(n_customers: int, repeats: int, cfg: dict) -> dict:
    """Return package and peer seconds (median, min, max over ``repeats``) with a "same result" per pair.

    Shape: ``{"n_customers", "repeats", "min_support", "references": {name: {"fast", "naive", "fast_s",
    "naive_s", "same_result", "note"}}}`` (``naive`` is the peer; the key names are the bench's contract).
    """
    from workbench.data.synthetic import generate_shop
    from workbench.data.validate import validate_shop
    from workbench.evaluate.metrics import ndcg_at_k
    from workbench.recommend.basket import mine_rules
    from workbench.recommend import registry
    from workbench.recommend.holdout import run_holdout
    from workbench.recommend.interactions import Interactions
    from workbench.segment.rfm import build_rfm, default_analysis_date

    raw = generate_shop({"n_customers": int(n_customers), "n_products": cfg["n_products"],
                         "n_weeks": cfg["n_weeks"], "seed": cfg["seed"], "events": False})
    shop, _ = validate_shop(raw)
    tx = shop.transactions
    date = default_analysis_date(tx)
    b, top_k = cfg["basket"], cfg["top_k"]
    als_cfg = registry.build("als").get_params()  # the notebooks' ALS settings
    pairs = {
        "rfm_pandas": ("segment.rfm.build_rfm", "idiomatic pandas groupby().agg + pd.qcut"),
        "rfm_duckdb": ("segment.rfm.build_rfm", "DuckDB SQL GROUP BY + pd.qcut"),
        "basket": ("recommend.basket.mine_rules", "mlxtend TransactionEncoder + fpgrowth + association_rules"),
        "cf": ("item-kNN + EASE, fit + top-10 for everyone", "implicit ALS, fit + top-10 for everyone"),
    }
    refs = {name: {"fast": f, "naive": p, "fast_s": [], "naive_s": [], "same_result": None, "note": ""}
            for name, (f, p) in pairs.items()}
    inter = Interactions.from_transactions(tx, weight="binary", customers=shop.customers[data_contract.CUSTOMER_ID],
                                           products=shop.products[data_contract.PRODUCT_ID])

    def cf_model(name):  # the cf stage's models (registered names and their params)
        return registry.build(name, cfg["cf"]["params"].get(name))

    def package_cf():
        return {name: cf_model(name).fit(inter).recommend(inter.customer_ids, k=top_k) for name in cfg["cf"]["models"]}

    for r in range(int(repeats)):
        t, fast = _time(build_rfm, tx, shop.customers)
        for name, fn in (("rfm_pandas", pandas_rfm), ("rfm_duckdb", duckdb_rfm)):
            refs[name]["fast_s"].append(t)
            tp, peer = _time(fn, tx, date)
            refs[name]["naive_s"].append(tp)
            refs[name]["same_result"] = same_rfm(fast, peer)
        t, (_, rules, info) = _time(mine_rules, tx, **b)
        refs["basket"]["fast_s"].append(t)
        tp, peer = _time(mlxtend_rules, tx, info["min_support"], b["max_len"], b["min_confidence"], b["min_lift"])
        refs["basket"]["naive_s"].append(tp)
        refs["basket"]["same_result"] = same_rules(rules, peer)
        refs["basket"]["note"] = f"{len(rules)} vs {len(peer)} rules"
        t, _ = _time(package_cf)
        refs["cf"]["fast_s"].append(t)
        tp, _ = _time(implicit_als, inter, top_k, als_cfg["factors"], als_cfg["regularization"], als_cfg["alpha"],
                      als_cfg["iterations"], cfg["seed"])
        refs["cf"]["naive_s"].append(tp)
        log.info("peers, repetition %d: %s", r + 1, ", ".join(
            f"{n} {v['fast_s'][-1]:.2f} s vs {v['naive_s'][-1]:.2f} s" for n, v in refs.items()))
    # quality of the different CF models on the same hold-out (the evaluation protocol's default split)
    hold = run_holdout(shop, {"seed": cfg["seed"]})
    scores = {name: ndcg_at_k(hold.test, cf_model(name).fit(hold.interactions).recommend(hold.customers, k=top_k),
                              k=top_k) for name in cfg["cf"]["models"]}
    als_recs = implicit_als(hold.interactions, top_k, als_cfg["factors"], als_cfg["regularization"],
                            als_cfg["alpha"], als_cfg["iterations"], cfg["seed"])
    scores["implicit_als"] = ndcg_at_k(hold.test, als_recs[als_recs[data_contract.CUSTOMER_ID].isin(hold.customers)], k=top_k)
    refs["cf"]["note"] = "different models; nDCG@10 on the hold-out: " + ", ".join(
        f"{n} {v:.4f}" for n, v in scores.items())
    refs["cf"]["ndcg"] = scores
    for rec in refs.values():
        rec["fast_s"], rec["naive_s"] = _spread(rec["fast_s"]), _spread(rec["naive_s"])
    return {"n_customers": int(n_customers), "repeats": int(repeats), "min_support": info["min_support"],
            "references": refs}

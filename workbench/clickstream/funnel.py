"""The view -> add-to-cart -> purchase funnel of a clickstream, with intervals, drop-out points and time to purchase.

The funnel counts visitor-product pairs: a pair *reaches* a step when the visitor had an event of that step or a
later one on the product (a purchase without a logged view still counts as viewed and carted). Conversion from
one step to the next is the share of the pairs reaching the first that reach the second, with a Wilson score
interval (:func:`wilson_interval`), so a product seen by three visitors gets a wide interval rather than a
confident 0 % or 100 %. The *drop-out point* of a pair is the last step it reached short of a purchase.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from workbench.data import contract as data_contract
from workbench.data.codes import factorize_ids
from workbench.data.sessions import event_codes, session_ids

#: the funnel's steps, in order (the event types)
STEPS = data_contract.EVENT_TYPES
#: the conversions reported: (name, from step, to step)
CONVERSIONS = (("view_to_cart", 0, 1), ("cart_to_purchase", 1, 2), ("view_to_purchase", 0, 2))
#: the column holding the step a pair reached (0 view, 1 add-to-cart, 2 purchase)
REACHED = "reached"
#: the step of a purchase
PURCHASED = STEPS.index("transaction")


def wilson_interval(successes, trials, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Return the Wilson score interval ``(low, high)`` of each proportion ``successes / trials`` (NaN when
    there are no trials); vectorised form of ``scipy.stats.binomtest(...).proportion_ci(method="wilson")``."""
    x = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = (x + z * z / 2) / (n + z * z)
        half = z / (n + z * z) * np.sqrt(x * (n - x) / n + z * z / 4)
    low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high


def _pair_keys(events: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each event's visitor-product pair as one integer that sorts as (customer_id, product_id) read as text,
    with the sorted visitor and product texts it decodes into (``key // n_products``, ``key % n_products``).
    An event with a missing id gets key -1."""
    def ranked(column: str) -> tuple[np.ndarray, np.ndarray]:
        codes, uniq = factorize_ids(events[column])
        texts = np.asarray(pd.Index(uniq).astype("str"), dtype=object)
        order = np.argsort(texts, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return np.where(codes >= 0, rank[np.maximum(codes, 0)], -1), texts[order]

    visitor, visitors = ranked(data_contract.CUSTOMER_ID)
    product, products = ranked(data_contract.PRODUCT_ID)
    key = np.where((visitor >= 0) & (product >= 0), visitor * max(len(products), 1) + product, -1)
    return key, visitors, products


def _decode(keys: np.ndarray, visitors: np.ndarray, products: np.ndarray) -> dict:
    n = max(len(products), 1)
    return {data_contract.CUSTOMER_ID: visitors[keys // n], data_contract.PRODUCT_ID: products[keys % n]}


def funnel_pairs(events: pd.DataFrame) -> pd.DataFrame:
    """Return one row per visitor-product pair: ``customer_id, product_id, reached`` (the furthest step), sorted
    by visitor and product."""
    key, visitors, products = _pair_keys(events)
    step = event_codes(events[data_contract.EVENT])
    ok = key >= 0
    reached = pd.Series(step[ok]).groupby(key[ok], sort=True).max()
    keys = reached.index.to_numpy()
    return pd.DataFrame({**_decode(keys, visitors, products), REACHED: reached.to_numpy()})


def conversion(pairs: pd.DataFrame, by: str | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Return the funnel per group of ``by`` (a column of ``pairs``; one row overall when ``None``): pairs per
    step (``view``, ``addtocart``, ``transaction``) and each conversion of :data:`CONVERSIONS` with its
    Wilson interval (``<name>``, ``<name>_low``, ``<name>_high``)."""
    reached = pairs[REACHED].to_numpy()
    counts = pd.DataFrame({name: (reached >= i).astype(np.int64) for i, name in enumerate(STEPS)})
    if by is None:
        table = counts.sum().to_frame().T
    else:
        table = counts.groupby(pairs[by].to_numpy(), sort=True, observed=True).sum()
        table.index.name = by
    for name, a, b in CONVERSIONS:
        n, x = table[STEPS[a]].to_numpy(), table[STEPS[b]].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            table[name] = np.where(n > 0, x / np.maximum(n, 1), np.nan)
        table[f"{name}_low"], table[f"{name}_high"] = wilson_interval(x, n, alpha)
    return table.reset_index() if by is not None else table.reset_index(drop=True)


def dropout(pairs: pd.DataFrame) -> dict[str, float]:
    """Return where visitor-product pairs stop: share left after the view, after the add-to-cart, and bought."""
    reached = pairs[REACHED].to_numpy()
    n = max(len(reached), 1)
    return {"after_view": float((reached == 0).sum() / n), "after_cart": float((reached == 1).sum() / n),
            "purchased": float((reached == 2).sum() / n)}


def _first_per_key(key: np.ndarray, t: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Of ``rows``, the earliest per key (ties: the first row): ``(keys in order, their rows)``."""
    order = rows[np.lexsort((rows, t[rows], key[rows]))]
    k = key[order]
    first = np.r_[True, k[1:] != k[:-1]][:len(k)]
    return k[first], order[first]


def time_to_purchase(events: pd.DataFrame, gap_minutes: float) -> pd.DataFrame:
    """Return per purchased visitor-product pair the hours from its first event to its first purchase, and
    whether both fell in the same session (``customer_id, product_id, hours, same_session``), sorted by visitor
    and product."""
    cols = [data_contract.CUSTOMER_ID, data_contract.PRODUCT_ID]
    buy = event_codes(events[data_contract.EVENT]) == PURCHASED
    if not buy.any():
        return pd.DataFrame({**{c: pd.Series([], dtype="str") for c in cols}, "hours": pd.Series([], dtype=float),
                             "same_session": pd.Series([], dtype=bool)})
    key, visitors, products = _pair_keys(events)
    t = events[data_contract.TIMESTAMP].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    sid = session_ids(events, gap_minutes)
    rows = np.arange(len(events))
    first_keys, first_rows = _first_per_key(key, t, rows[key >= 0])
    buy_keys, buy_rows = _first_per_key(key, t, rows[buy & (key >= 0)])
    at = first_rows[np.searchsorted(first_keys, buy_keys)]  # every bought pair had a first event
    return pd.DataFrame({
        **_decode(buy_keys, visitors, products),
        "hours": (t[buy_rows] - t[at]) / 3_600_000_000_000,
        "same_session": sid[buy_rows] == sid[at],
    })


def has_purchases(events: pd.DataFrame) -> bool:
    """Whether the clickstream logs purchases (any ``transaction`` event)."""
    return bool((event_codes(events[data_contract.EVENT]) == PURCHASED).any())


def funnel_summary(pairs: pd.DataFrame, by_category: pd.DataFrame, times: pd.DataFrame | None) -> dict:
    """Return the ``clickstream.funnel`` metrics: overall conversions with intervals, drop-out points, per
    category conversions and, when ``times`` is given, time to purchase (hours: median and quartiles; share in
    the same session). Without purchase events (``times`` is ``None``) only the view-to-cart step is reported."""
    names = [c[0] for c in CONVERSIONS] if times is not None else [CONVERSIONS[0][0]]
    steps = list(STEPS) if times is not None else list(STEPS[:2])
    overall = conversion(pairs).iloc[0].to_dict()
    overall = {k: (int(v) if k in steps else v) for k, v in overall.items()
               if k in steps or k.rsplit("_", 1)[0] in names or k in names}
    drop = dropout(pairs)
    if times is None:
        drop.pop("purchased")
    out = {"pairs": len(pairs), "overall": overall, "dropout": drop,
           "by_category": {str(r[data_contract.CATEGORY]): {k: r[k] for k in (*steps, *names)}
                           for r in by_category.to_dict(orient="records")}}
    if times is not None and len(times):
        h = times["hours"]
        out["time_to_purchase"] = {"purchases": len(times), "median_hours": float(h.median()),
                                   "p25_hours": float(h.quantile(0.25)), "p75_hours": float(h.quantile(0.75)),
                                   "same_session": float(times["same_session"].mean())}
    return out


def with_category(pairs: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """``pairs`` with each product's ``category`` (``unknown`` for a product missing from ``products``)."""
    cat = products.set_index(products[data_contract.PRODUCT_ID].astype("str"))[data_contract.CATEGORY].astype("str")
    out = pairs.copy()
    out[data_contract.CATEGORY] = cat.reindex(out[data_contract.PRODUCT_ID]).fillna("unknown").to_numpy()
    return out

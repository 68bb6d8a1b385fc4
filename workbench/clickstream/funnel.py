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
from workbench.data.sessions import session_ids

#: the funnel's steps, in order (the event types)
STEPS = data_contract.EVENT_TYPES
#: the conversions reported: (name, from step, to step)
CONVERSIONS = (("view_to_cart", 0, 1), ("cart_to_purchase", 1, 2), ("view_to_purchase", 0, 2))
#: the column holding the step a pair reached (0 view, 1 add-to-cart, 2 purchase)
REACHED = "reached"


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


def funnel_pairs(events: pd.DataFrame) -> pd.DataFrame:
    """Return one row per visitor-product pair: ``customer_id, product_id, reached`` (the furthest step)."""
    step = pd.Categorical(events[data_contract.EVENT].astype("str"), categories=list(STEPS)).codes.astype(np.int8)
    df = pd.DataFrame({data_contract.CUSTOMER_ID: events[data_contract.CUSTOMER_ID].astype("str").to_numpy(),
                       data_contract.PRODUCT_ID: events[data_contract.PRODUCT_ID].astype("str").to_numpy(),
                       REACHED: step})
    return df.groupby([data_contract.CUSTOMER_ID, data_contract.PRODUCT_ID], sort=True, observed=True)[REACHED] \
        .max().reset_index()


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


def time_to_purchase(events: pd.DataFrame, gap_minutes: float) -> pd.DataFrame:
    """Return per purchased visitor-product pair the hours from its first event to its first purchase, and
    whether both fell in the same session (``customer_id, product_id, hours, same_session``)."""
    cols = [data_contract.CUSTOMER_ID, data_contract.PRODUCT_ID]
    df = pd.DataFrame({c: events[c].astype("str").to_numpy() for c in cols})
    df["t"] = events[data_contract.TIMESTAMP].to_numpy(dtype="datetime64[ns]")
    df["sid"] = session_ids(events, gap_minutes)
    df["buy"] = (events[data_contract.EVENT].astype("str") == STEPS[2]).to_numpy()
    if not df["buy"].any():
        return pd.DataFrame({**{c: pd.Series([], dtype="str") for c in cols}, "hours": pd.Series([], dtype=float),
                             "same_session": pd.Series([], dtype=bool)})
    df = df.sort_values("t", kind="stable")
    first = df.groupby(cols, sort=False).first()
    buy = df[df["buy"]].groupby(cols, sort=False).first()
    out = buy.merge(first, left_index=True, right_index=True, suffixes=("", "_first"))
    return pd.DataFrame({
        data_contract.CUSTOMER_ID: out.index.get_level_values(0), data_contract.PRODUCT_ID: out.index.get_level_values(1),
        "hours": ((out["t"] - out["t_first"]) / pd.Timedelta(hours=1)).to_numpy(),
        "same_session": (out["sid"] == out["sid_first"]).to_numpy(),
    }).sort_values(cols, ignore_index=True)


def has_purchases(events: pd.DataFrame) -> bool:
    """Whether the clickstream logs purchases (any ``transaction`` event)."""
    return bool((events[data_contract.EVENT].astype("str") == STEPS[2]).any())


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

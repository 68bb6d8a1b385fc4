"""RFM: recency, frequency and monetary value per customer, 1-5 scores and named business segments.

Conventions (they reproduce the published Online Retail segment counts, see ``tests/segment``):

* only transactions before ``analysis_date`` count; the default analysis date is the day after the
  last transaction;
* a *purchase line* has quantity > 0; recency = whole days from the last purchase line to the analysis
  date (``(analysis_date - last_purchase).days``, so a purchase 1 day 11 hours before is 1 day);
  frequency = number of distinct invoices holding a purchase line (return-only invoices do not count);
  monetary = net revenue of all lines, returns subtracted (so it can be <= 0);
* customers without a purchase (signed up, never bought; or only returns) keep a row with frequency 0,
  missing recency and scores, and the segment ``no_purchase``;
* scores 1-5 by quintiles among the buyers: recency (5 = most recent) and monetary cut on their values
  (``pd.qcut``), frequency cut on its rank with ``method="first"`` (ties broken in customer-id order)
  so the many one-purchase customers do not collapse the bins. If a metric has too many ties for five
  distinct value quintiles, it falls back to the rank (logged);
* segments from the R and F scores: a map of segment name -> regular expression over the two-character
  string "RF" (``"5[4-5]"``); every one of the 25 cells must match exactly one segment;
* a shop without money (a clickstream: its purchase events as one-unit lines without a unit price, see
  :func:`workbench.data.shop.purchases`) still gets recency, frequency, their scores and the segments, which
  need no money; monetary and its score stay missing, ``rfm_score`` reads ``"54-"`` and
  :func:`monetary_skip_reason` says why.

Everything is a vectorised groupby over integer codes: 10M lines take seconds.
"""
from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.data.codes import compact, factorize_ids
from workbench.errors import ConfigError
from workbench.stages import Limits, require

log = logging.getLogger(__name__)

RECENCY, FREQUENCY, MONETARY = "recency", "frequency", "monetary"
METRICS = (RECENCY, FREQUENCY, MONETARY)
R_SCORE, F_SCORE, M_SCORE, RFM_SCORE = "r_score", "f_score", "m_score", "rfm_score"
SEGMENT = "segment"
FIRST_PURCHASE, LAST_PURCHASE = "first_purchase", "last_purchase"
NO_PURCHASE = "no_purchase"
N_BINS = 5

#: the widely used 10-segment map on the R and F scores (segment -> regex over "RF")
DEFAULT_SEGMENT_MAP: dict[str, str] = {
    "champions": "5[4-5]",
    "loyal_customers": "[3-4][4-5]",
    "potential_loyalists": "[4-5][2-3]",
    "new_customers": "51",
    "promising": "41",
    "need_attention": "33",
    "about_to_sleep": "3[1-2]",
    "at_risk": "[1-2][3-4]",
    "cant_lose": "[1-2]5",
    "hibernating": "[1-2][1-2]",
}

#: a suggested action per segment of the default map
DEFAULT_ACTIONS: dict[str, str] = {
    "champions": "reward them; early access to new products; ask for reviews and referrals",
    "loyal_customers": "upsell higher-value products; loyalty programme",
    "potential_loyalists": "membership or loyalty offer; recommend related products",
    "new_customers": "onboarding; make the second purchase easy",
    "promising": "build brand awareness; free trials",
    "need_attention": "limited-time offers based on past purchases",
    "about_to_sleep": "reactivate with popular products and discounts",
    "at_risk": "personalised win-back e-mails; renewals",
    "cant_lose": "win them back with new products; talk to them, do not lose them to a competitor",
    "hibernating": "low-cost reactivation only; otherwise let them go",
    NO_PURCHASE: "convert: first-purchase incentive or onboarding",
}

DEFAULTS: dict = {
    "analysis_date": None,            # None = the day after the last transaction
    "segment_map": DEFAULT_SEGMENT_MAP,   # segment name -> regex over the "RF" score string (each cell in one)
    "actions": DEFAULT_ACTIONS,           # segment name -> a suggested action
    "iqr_k": 1.5,                     # IQR outlier flags: outside [Q1 - k IQR, Q3 + k IQR]
}


# ---- analysis date and raw metrics --------------------------------------------------------------

def default_analysis_date(transactions: pd.DataFrame) -> pd.Timestamp:
    """Return the day after the last transaction (midnight)."""
    if not len(transactions) or transactions[contract.TIMESTAMP].isna().all():
        raise ValueError("no dated transaction to take the analysis date from; pass analysis_date, or the "
                         "purchase lines of a shop without sales (workbench.data.shop.purchases)")
    return pd.Timestamp(transactions[contract.TIMESTAMP].max()).normalize() + pd.Timedelta(days=1)


def customer_codes(ids: pd.Series, customers: pd.Series | None = None,
                   rows: np.ndarray | None = None) -> tuple[np.ndarray, pd.Index]:
    """Return (integer code per row of ``ids``, the sorted customer ids the codes point into), the ids of
    ``customers`` included even when they have no row; one hash pass over the rows (shared with the other
    stages through :func:`~workbench.data.codes.factorize_ids`), one sort of the distinct ids.
    ``rows`` (a boolean mask) keeps only those rows (and the ids they hold)."""
    codes, uniq = factorize_ids(ids)
    if rows is not None:
        codes, uniq = compact(codes[rows], uniq)
    if customers is not None:  # add the customers without rows: a second, small factorize
        to_all, uniq = pd.factorize(pd.concat([pd.Series(uniq), customers.astype(ids.dtype)], ignore_index=True))
        codes = to_all[codes]
    order = pd.Index(uniq).argsort()  # ids are distinct: the order is unique
    rank = np.empty(len(order), dtype="int64")
    rank[order] = np.arange(len(order))
    return rank[codes], pd.Index(uniq[order])


def _distinct_invoices(codes: np.ndarray, inv: np.ndarray, n_inv: int, n: int) -> np.ndarray:
    """Return the number of distinct invoices per customer code (length ``n``), ``inv`` the invoice code
    (0 .. n_inv - 1) of each line."""
    owner = np.full(n_inv, -1, dtype="int64")
    owner[inv] = codes  # the customer of one of the invoice's lines
    if (owner[inv] == codes).all():  # the usual case: every line of an invoice has that customer
        return np.bincount(owner[owner >= 0], minlength=n).astype("int64")
    width = n_inv + 1  # an invoice shared by customers counts once for each of them
    return np.bincount(pd.unique(codes * width + inv) // width, minlength=n).astype("int64")


def rfm_table(transactions: pd.DataFrame, customers: pd.DataFrame | None = None,
              analysis_date: str | pd.Timestamp | None = None) -> pd.DataFrame:
    """Return one row per customer (sorted by id): recency, frequency, monetary, first/last purchase.

    ``customers`` (optional) adds customers without transactions; transactions on or after
    ``analysis_date`` are ignored.
    """
    date = default_analysis_date(transactions) if analysis_date is None else pd.Timestamp(analysis_date)
    ts = transactions[contract.TIMESTAMP]
    keep = (ts < date).to_numpy()
    if not keep.all():
        log.info("rfm: %d of %d lines on or after the analysis date %s are ignored", int((~keep).sum()),
                 len(keep), date.date())
    rows = None if keep.all() else keep
    tx = transactions.loc[keep] if rows is not None else transactions
    codes, ids_all = customer_codes(transactions[contract.CUSTOMER_ID],
                                    None if customers is None else customers[contract.CUSTOMER_ID], rows)
    n = len(ids_all)
    qty = tx[contract.QUANTITY].to_numpy(dtype="float64")
    price = tx[contract.UNIT_PRICE].to_numpy(dtype="float64")
    if len(price) and np.isnan(price).all():  # no money (purchase events): monetary is unknown, not 0
        monetary = np.full(n, np.nan)
    else:
        monetary = np.bincount(codes, weights=qty * price, minlength=n)
    buy = qty > 0
    bcodes = codes[buy]
    inv, inv_ids = factorize_ids(transactions[contract.TRANSACTION_ID])
    inv = inv if rows is None else inv[rows]
    frequency = _distinct_invoices(bcodes, inv[buy], len(inv_ids), n)
    ts = tx[contract.TIMESTAMP]
    unit = np.datetime_data(ts.dtype)[0]
    t_int = ts.to_numpy().view("int64")[buy]
    lo, hi = np.iinfo("int64").max, np.iinfo("int64").min
    first_i, last_i = np.full(n, lo), np.full(n, hi)
    np.minimum.at(first_i, bcodes, t_int)
    np.maximum.at(last_i, bcodes, t_int)
    bought = frequency > 0
    first = pd.Series(np.where(bought, first_i, np.datetime64("NaT").astype("int64")).view(f"datetime64[{unit}]"))
    last = pd.Series(np.where(bought, last_i, np.datetime64("NaT").astype("int64")).view(f"datetime64[{unit}]"))
    recency = (date - last).dt.days.astype("Int64")
    out = pd.DataFrame({
        contract.CUSTOMER_ID: pd.array(ids_all, dtype="str"),
        RECENCY: recency.array,
        FREQUENCY: frequency,
        MONETARY: monetary,
        FIRST_PURCHASE: first.to_numpy(),
        LAST_PURCHASE: last.to_numpy(),
    })
    out.attrs["analysis_date"] = date
    return out


# ---- scores ---------------------------------------------------------------------------------------

def quantile_scores(values: pd.Series, n_bins: int = N_BINS, reverse: bool = False,
                    rank_first: bool = False) -> pd.Series:
    """Return scores 1..n_bins by quantiles of ``values`` (``reverse``: smallest value gets n_bins).

    ``rank_first`` cuts the rank (``method="first"``, ties in index order) instead of the values; value
    cuts that cannot make ``n_bins`` distinct edges fall back to the rank.
    """
    labels = list(range(n_bins, 0, -1)) if reverse else list(range(1, n_bins + 1))
    if len(values) < n_bins:
        raise ValueError(f"need at least {n_bins} customers with purchases to score RFM, got {len(values)}")
    x = values.astype("float64")
    if not rank_first:
        try:
            return pd.qcut(x, n_bins, labels=labels).astype("int64")
        except ValueError:
            log.warning("rfm: %s has too many ties for %d value quantiles; scoring its rank instead",
                        values.name, n_bins)
    return pd.qcut(x.rank(method="first"), n_bins, labels=labels).astype("int64")


def monetary_skip_reason(table: pd.DataFrame) -> str | None:
    """Why the RFM table has no monetary value (its buyers' purchases carry no price), else ``None``."""
    buyers = table[FREQUENCY].to_numpy() > 0
    if buyers.any() and table.loc[buyers, MONETARY].isna().all():
        return ("RFM's monetary value and M score need the price of each purchase and this shop's purchases have "
                "none (a clickstream's purchase events); recency, frequency, their scores and the segments "
                "(from R and F) are computed without it")
    return None


def score_rfm(table: pd.DataFrame) -> pd.DataFrame:
    """Return ``table`` with r_score, f_score, m_score (1-5, missing without purchases) and rfm_score ("545").

    Without money (:func:`monetary_skip_reason`) m_score is missing and rfm_score reads "54-"."""
    out = table.copy()
    buyers = out[FREQUENCY].to_numpy() > 0
    b = out.loc[buyers]
    money = monetary_skip_reason(out) is None
    scores = {
        R_SCORE: quantile_scores(b[RECENCY], reverse=True),
        F_SCORE: quantile_scores(b[FREQUENCY], rank_first=True),
        M_SCORE: quantile_scores(b[MONETARY]) if money else None,
    }
    code = np.zeros(len(out), dtype="int64")
    for col, sc in scores.items():
        vals = np.zeros(len(out), dtype="int64")
        if sc is not None:
            vals[buyers] = sc.to_numpy()
        out[col] = pd.arrays.IntegerArray(vals, ~buyers if sc is not None else np.ones(len(out), dtype=bool))
        code = code * 10 + vals
    text = code.astype("str") if money else np.char.add((code // 10).astype("str"), "-")
    out[RFM_SCORE] = pd.array(np.where(buyers, text, None), dtype="str")
    return out


# ---- segments -------------------------------------------------------------------------------------

def rf_cells(n_bins: int = N_BINS) -> list[str]:
    """Return the 25 "RF" cells ("11" .. "55")."""
    return [f"{r}{f}" for r in range(1, n_bins + 1) for f in range(1, n_bins + 1)]


def check_segment_map(segment_map: dict[str, str]) -> dict[str, str]:
    """Return cell ("RF") -> segment name; raise ConfigError if a cell matches no or several segments."""
    if not segment_map:
        raise ConfigError("segmentation.segment_map is empty: give segment name -> regex over the 'RF' "
                          "score string, e.g. {champions: '5[4-5]', ...}")
    try:
        patterns = {name: re.compile(str(p)) for name, p in segment_map.items()}
    except re.error as exc:
        raise ConfigError(f"segmentation.segment_map: a pattern is not a valid regex ({exc})") from exc
    cell_map, missing, overlaps = {}, [], []
    for cell in rf_cells():
        hits = [name for name, p in patterns.items() if p.fullmatch(cell)]
        if not hits:
            missing.append(cell)
        elif len(hits) > 1:
            overlaps.append(f"{cell} -> {' and '.join(hits)}")
        else:
            cell_map[cell] = hits[0]
    problems = []
    if missing:
        problems.append(f"cells matching no segment: {', '.join(missing)}")
    if overlaps:
        problems.append(f"cells matching several segments: {'; '.join(overlaps)}")
    if problems:
        raise ConfigError("segmentation.segment_map must map each of the 25 R x F cells (R and F score 1-5) "
                          "to exactly one segment; " + "; ".join(problems))
    return cell_map


def assign_segments(scored: pd.DataFrame, segment_map: dict[str, str] | None = None) -> pd.Series:
    """Return the segment name per row from its R and F scores (``no_purchase`` without scores)."""
    cell_map = check_segment_map(segment_map or DEFAULT_SEGMENT_MAP)
    names = [*dict.fromkeys(cell_map.values()), NO_PURCHASE]
    lookup = np.full(100, len(names) - 1)  # index R * 10 + F; no scores -> no_purchase
    for cell, name in cell_map.items():
        lookup[int(cell)] = names.index(name)
    r = scored[R_SCORE].to_numpy(dtype="int64", na_value=0)
    f = scored[F_SCORE].to_numpy(dtype="int64", na_value=0)
    seg = np.asarray(names, dtype=object)[lookup[r * 10 + f]]
    return pd.Series(pd.array(seg, dtype="str"), index=scored.index, name=SEGMENT)


def iqr_outliers(table: pd.DataFrame, k: float = 1.5) -> pd.DataFrame:
    """Return boolean columns ``<metric>_outlier`` flagging buyers outside [Q1 - k IQR, Q3 + k IQR]."""
    buyers = table[FREQUENCY].to_numpy() > 0
    out = pd.DataFrame(index=table.index)
    for m in METRICS:
        if m == MONETARY and monetary_skip_reason(table):
            continue  # no money: no monetary outliers to flag
        x = table.loc[buyers, m].astype("float64")
        q1, q3 = x.quantile([0.25, 0.75]).to_numpy()
        lo, hi = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
        flag = np.zeros(len(table), dtype=bool)
        flag[buyers] = ((x < lo) | (x > hi)).to_numpy()
        out[f"{m}_outlier"] = flag
    return out


def outlier_counts(table: pd.DataFrame) -> dict[str, int]:
    """Return metric -> number of customers flagged as IQR outliers (flags from :func:`iqr_outliers`)."""
    return {m: int(table[f"{m}_outlier"].sum()) for m in METRICS if f"{m}_outlier" in table}


def build_rfm(transactions: pd.DataFrame, customers: pd.DataFrame | None = None,
              analysis_date: str | pd.Timestamp | None = None, segment_map: dict[str, str] | None = None,
              iqr_k: float = 1.5, limits: Limits | None = None) -> pd.DataFrame:
    """Return the per-customer RFM table with scores, rfm_score, segment and IQR outlier flags.

    Raises :class:`~workbench.errors.StageSkipped` (``segmentation``) when the lines hold no purchase at all,
    or with fewer customers with a purchase than ``limits.rfm_min_buyers`` (params ``limits:``): quintile
    scores need a few buyers per score.

    Examples:
        Five customers' invoice lines; recency is days before the analysis date, frequency the invoices,
        monetary the revenue:

        >>> import pandas as pd
        >>> lines = pd.DataFrame({
        ...     "transaction_id": ["t1", "t2", "t3", "t4", "t5", "t6", "t7"],
        ...     "customer_id": ["a", "a", "b", "c", "d", "e", "e"], "product_id": "p1",
        ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-02-01", "2024-01-15",
        ...                                  "2024-03-20", "2024-02-10", "2024-03-25"]),
        ...     "quantity": [1, 2, 1, 1, 3, 1, 1], "unit_price": [10.0, 10.0, 5.0, 20.0, 4.0, 8.0, 8.0]})
        >>> rfm = build_rfm(lines, analysis_date="2024-04-01")
        >>> print(rfm[["customer_id", "recency", "frequency", "monetary", "rfm_score", "segment"]].to_string(index=False))
        customer_id  recency  frequency  monetary rfm_score             segment
                  a       31          2      30.0       345     loyal_customers
                  b       60          1       5.0       211         hibernating
                  c       77          1      20.0       124         hibernating
                  d       12          1      12.0       432 potential_loyalists
                  e        7          2      16.0       553           champions
    """
    seg_map = segment_map or DEFAULT_SEGMENT_MAP
    check_segment_map(seg_map)  # fail before the work
    bought = transactions[contract.TIMESTAMP].notna() & (transactions[contract.QUANTITY] > 0)
    require(bool(bought.any()), "segmentation",
            "RFM measures recency, frequency and spend from purchases, and this shop has no purchase at all "
            "(a clickstream of views or add-to-carts only, or ratings only, records interest, not purchases); "
            "the recommenders can still learn from its events or ratings")
    table = rfm_table(transactions, customers, analysis_date)
    buyers, need = int((table[FREQUENCY] > 0).sum()), max((limits or Limits()).rfm_min_buyers, N_BINS)
    require(buyers >= need, "segmentation",
            f"RFM quintile scores need at least {need} customers with a purchase before "
            f"{pd.Timestamp(table.attrs['analysis_date']).date()} (params limits.rfm_min_buyers); this shop has "
            f"{buyers} of {len(table)} customers")
    date = table.attrs["analysis_date"]
    scored = score_rfm(table)
    scored[SEGMENT] = assign_segments(scored, seg_map).to_numpy()
    scored = pd.concat([scored, iqr_outliers(scored, iqr_k)], axis=1)
    scored.attrs["analysis_date"] = date
    return scored


# ---- summaries -------------------------------------------------------------------------------------

def segment_order(segment_map: dict[str, str] | None = None) -> list[str]:
    """Return the segment names in map order, then ``no_purchase``."""
    return [*(segment_map or DEFAULT_SEGMENT_MAP), NO_PURCHASE]


def segment_counts(table: pd.DataFrame, segment_map: dict[str, str] | None = None) -> dict[str, int]:
    """Return segment -> number of customers (map order; ``no_purchase`` only when present)."""
    counts = table[SEGMENT].value_counts()
    order = segment_order(segment_map)
    return {s: int(counts.get(s, 0)) for s in order if s != NO_PURCHASE or counts.get(s, 0) > 0}


def segment_summary(table: pd.DataFrame, segment_map: dict[str, str] | None = None,
                    actions: dict[str, str] | None = None) -> pd.DataFrame:
    """Return per segment: count, share, mean recency/frequency/monetary, revenue share, suggested action."""
    acts = {**DEFAULT_ACTIONS, **(actions or {})}
    g = table.groupby(SEGMENT, sort=False)
    out = pd.DataFrame({
        "count": g.size(),
        "recency_mean": g[RECENCY].mean().astype("float64"),
        "frequency_mean": g[FREQUENCY].mean(),
        "monetary_mean": g[MONETARY].mean(),
        "revenue": g[MONETARY].sum(),
    })
    out["share"] = out["count"] / out["count"].sum()
    total = table[MONETARY].sum()
    out["revenue_share"] = out["revenue"] / total if total else np.nan
    order = [s for s in segment_order(segment_map) if s in out.index]
    out = out.loc[order, ["count", "share", "recency_mean", "frequency_mean", "monetary_mean", "revenue_share"]]
    out["action"] = [acts.get(s, "") for s in out.index]
    out.index.name = SEGMENT
    return out.reset_index()


def rf_grid(table: pd.DataFrame, value: str | None = None) -> pd.DataFrame:
    """Return a 5 x 5 table (rows R score 5..1, columns F score 1..5) of customer counts or mean ``value``."""
    b = table[table[R_SCORE].notna()]
    r = b[R_SCORE].astype("int64")
    f = b[F_SCORE].astype("int64")
    if value is None:
        grid = pd.crosstab(r, f)
    else:
        grid = pd.crosstab(r, f, values=b[value].astype("float64"), aggfunc="mean")
    idx = list(range(N_BINS, 0, -1))
    return grid.reindex(index=idx, columns=list(range(1, N_BINS + 1)))

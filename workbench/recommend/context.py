"""Context recommenders: what is trending in the customer's cluster, what sells in the season, what fits
the customer's price band. Each follows the :class:`~workbench.recommend.base.Recommender` interface so
the hybrid can blend them, and each is fitted from the training transactions only.

- :class:`ClusterTrendingRecommender`: recency-weighted popularity inside the customer's group (K-means
  ``cluster`` or RFM ``segment`` of the segmentation artifact), shrunk towards the global trend.
- :class:`SeasonalRecommender`: products whose sales in past years concentrate in the weeks around the
  recommendation date's day of year (seasonal popularity x seasonal peak index).
- :class:`PriceAffinityRecommender`: popularity x a Gaussian match of the product's log price to the
  customer's usual log unit price (mean and spread shrunk towards everyone's).
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench.data import contract
from workbench.recommend.base import Recommender
from workbench.recommend.interactions import Interactions

log = logging.getLogger(__name__)

#: the ``context`` params block: one sub-block per recommender (constructor arguments)
DEFAULTS: dict = {
    "cluster_trending": {
        "group_col": "cluster",      # the segmentation column customers are grouped by (cluster or segment)
        "half_life_days": 30.0,      # recency weighting of the purchases a group's trend counts
        "prior_strength": 20.0,      # pseudo-purchases shrinking a small group's trend towards the global one
    },
    "seasonal": {
        "back_days": 14,             # the season starts this many days of year before the recommendation date
        "ahead_days": 56,            # ... and ends this many after it
        "peak_weight": 1.0,          # power of the seasonal index in the score
        "prior_strength": 5.0,       # pseudo-lines shrinking a product's seasonal index towards 1
    },
    "price_affinity": {
        "popularity_weight": 1.0,    # power of popularity in the score
        "prior_strength": 3.0,       # pseudo-lines shrinking a customer's price band towards everyone's
        "min_sigma": 0.2,            # smallest spread of a price band (log price)
    },
    "segments_artifact": "customer_segments",  # the artifact the cluster or segment of each customer comes from
}

#: the group of customers without one (no segmentation row, or a negative cluster)
GLOBAL_GROUP = "all"


def _sales(transactions: pd.DataFrame) -> pd.DataFrame:
    return transactions[transactions[contract.QUANTITY] > 0]


# ---- cluster trending ---------------------------------------------------------------------------------
def customer_groups(segments: pd.DataFrame | None, customer_ids: pd.Index, group_col: str = "cluster") -> pd.Series:
    """Return each customer's group label (str) from a segmentation table, ``"all"`` where there is none.

    ``group_col`` names the column (``cluster`` or ``segment``); when it is absent the other one is
    tried. Missing rows and negative clusters (customers left out of clustering) get the global group.
    """
    ids = pd.Index(customer_ids).astype("str")
    if segments is None or len(segments) == 0:
        log.warning("cluster_trending: no segmentation table (run notebook 01 first for "
                    "artifacts/customer_segments.parquet); using one global group")
        return pd.Series(GLOBAL_GROUP, index=ids, dtype="str")
    col = group_col if group_col in segments else next((c for c in ("cluster", "segment") if c in segments), None)
    if col is None:
        log.warning("cluster_trending: segmentation table has no %r/cluster/segment column (has %s); "
                    "using one global group", group_col, list(segments.columns))
        return pd.Series(GLOBAL_GROUP, index=ids, dtype="str")
    if col != group_col:
        log.warning("cluster_trending: column %r not found, grouping by %r", group_col, col)
    seg = segments.drop_duplicates(contract.CUSTOMER_ID)
    num = pd.to_numeric(seg[col], errors="coerce")
    lab = seg[col].astype("str").where(seg[col].notna().to_numpy() & ~(num < 0).to_numpy(), GLOBAL_GROUP)
    label = pd.Series(lab.to_numpy(), index=seg[contract.CUSTOMER_ID].astype("str")).reindex(ids).fillna(GLOBAL_GROUP)
    return pd.Series(label.to_numpy(), index=ids, dtype="str")


class ClusterTrendingRecommender(Recommender):
    """What is trending (recency-weighted popularity) among the customer's cluster or segment.

    ``fit(interactions, transactions=..., segments=...)``; ``segments`` has ``customer_id`` and the
    ``group_col`` column (the segmentation artifact). A group's trend is shrunk towards the global trend
    with ``prior_strength`` pseudo-purchases, so small groups fall back gracefully.
    """

    name = "cluster_trending"

    def __init__(self, group_col: str = "cluster", half_life_days: float = 30.0, prior_strength: float = 20.0):
        self.group_col = group_col
        self.half_life_days = half_life_days
        self.prior_strength = prior_strength


    def _fit(self, interactions: Interactions, transactions: pd.DataFrame | None = None,
             segments: pd.DataFrame | None = None, now=None, **context) -> None:
        if transactions is None:
            raise ValueError("ClusterTrendingRecommender.fit needs transactions=... (the training purchases)")
        groups = customer_groups(segments, interactions.customer_ids, self.group_col)
        self.groups_ = groups
        codes, labels = pd.factorize(groups, sort=True)
        self.group_labels_ = pd.Index(labels, dtype="str")
        self._group_of_row = codes
        r, c = interactions.locate(transactions)  # every line's row and column, shared by the components
        is_sale = (transactions[contract.QUANTITY] > 0).to_numpy()
        ok = is_sale & (r >= 0) & (c >= 0)
        ts = pd.to_datetime(transactions[contract.TIMESTAMP])
        ref = pd.Timestamp(now) if now is not None else ts[is_sale].max()
        age = ((ref - ts[ok]).dt.total_seconds() / 86400.0).clip(lower=0).to_numpy()
        w = np.power(0.5, age / float(self.half_life_days)) if self.half_life_days else np.ones(len(age))
        g = codes[r[ok]]
        counts = sp.csr_matrix((w, (g, c[ok])), shape=(len(labels), interactions.shape[1])).toarray()
        glob = counts.sum(axis=0)
        self.global_trend_ = glob / max(glob.sum(), 1e-300)
        a = float(self.prior_strength)
        self.group_trend_ = (counts + a * self.global_trend_[None, :]) / (counts.sum(axis=1, keepdims=True) + a)
        log.info("cluster_trending: %d group(s) by %r, half-life %s days", len(labels), self.group_col,
                 self.half_life_days)

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        return self.group_trend_[self._group_of_row[rows]].astype(np.float64)

    def _score_cold(self, n: int) -> np.ndarray:
        return np.tile(self.global_trend_, (n, 1))


# ---- seasonal -----------------------------------------------------------------------------------------
def season_mask(timestamps: pd.Series, date, back_days: int = 14, ahead_days: int = 56) -> np.ndarray:
    """Return whether each timestamp's day of year lies in ``[date - back_days, date + ahead_days]`` (circular)."""
    doy = pd.to_datetime(timestamps).dt.day_of_year.to_numpy()
    d0 = pd.Timestamp(date).day_of_year
    delta = (doy - d0 + 366) % 366  # days after d0, wrapping at the year's end
    return (delta <= int(ahead_days)) | (delta >= 366 - int(back_days))


class SeasonalRecommender(Recommender):
    """Products whose past sales peak in the season of the recommendation date.

    The season is the days of year from ``back_days`` before to ``ahead_days`` after ``date`` (default:
    the last training timestamp), in every past year. Score = the product's share of in-season sales x
    its seasonal index ``(in-season share of its own sales) / (in-season share of all sales)`` to the power
    ``peak_weight`` (the index shrunk towards 1 with ``prior_strength`` pseudo-lines).
    """

    name = "seasonal"

    def __init__(self, back_days: int = 14, ahead_days: int = 56, peak_weight: float = 1.0,
                 prior_strength: float = 5.0, date=None):
        self.back_days = back_days
        self.ahead_days = ahead_days
        self.peak_weight = peak_weight
        self.prior_strength = prior_strength
        self.date = date


    def _fit(self, interactions: Interactions, transactions: pd.DataFrame | None = None, now=None,
             **context) -> None:
        if transactions is None:
            raise ValueError("SeasonalRecommender.fit needs transactions=... (the training purchases)")
        is_sale = (transactions[contract.QUANTITY] > 0).to_numpy()
        sales = transactions[is_sale]
        date = self.date or now or pd.to_datetime(sales[contract.TIMESTAMP]).max()
        self.date_ = pd.Timestamp(date)
        c = interactions.locate(transactions)[1][is_sale]  # every line's column, shared by the components
        ok = c >= 0
        inseason = season_mask(sales[contract.TIMESTAMP], self.date_, self.back_days, self.ahead_days) & ok
        n = interactions.shape[1]
        all_lines = np.bincount(c[ok], minlength=n).astype(np.float64)
        in_lines = np.bincount(c[inseason], minlength=n).astype(np.float64)
        s = in_lines.sum() / max(all_lines.sum(), 1.0)  # the season's share of all sales
        if in_lines.sum() == 0:
            log.warning("seasonal: no training sales in the season around %s; scores fall back to popularity",
                        self.date_.date())
            self.scores_ = all_lines / max(all_lines.max(), 1.0)
            return
        a = float(self.prior_strength)
        index = (in_lines + a * s) / (all_lines * s + a * s)
        self.seasonal_index_ = index
        self.scores_ = (in_lines / in_lines.sum()) * np.power(index, float(self.peak_weight))
        log.info("seasonal: season %s -%dd/+%dd holds %.1f%% of training sales", self.date_.date(),
                 self.back_days, self.ahead_days, 100 * s)

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        return np.tile(self.scores_, (len(rows), 1))

    def _score_cold(self, n: int) -> np.ndarray:
        return np.tile(self.scores_, (n, 1))


# ---- price affinity -----------------------------------------------------------------------------------
def product_prices(products: pd.DataFrame | None, transactions: pd.DataFrame, product_ids: pd.Index) -> np.ndarray:
    """Return a price per product id: the products table's ``price``, else the median sales unit price."""
    ids = pd.Index(product_ids).astype("str")
    price = pd.Series(np.nan, index=ids)
    if products is not None and contract.PRICE in products:
        listed = products.drop_duplicates(contract.PRODUCT_ID).set_index(
            products[contract.PRODUCT_ID].drop_duplicates().astype("str"))[contract.PRICE]
        price = listed.reindex(ids).astype("float64")
    if price.isna().any():  # the median sales price where the table has none (a groupby over every line)
        sales = _sales(transactions)
        med = sales.groupby(sales[contract.PRODUCT_ID].astype("str"), observed=True)[contract.UNIT_PRICE].median()
        price = price.fillna(med.reindex(ids))
    fallback = float(np.nanmedian(price.to_numpy(dtype=np.float64))) if price.notna().any() else 1.0
    return price.fillna(fallback).clip(lower=1e-6).to_numpy(dtype=np.float64)


def no_prices_reason(products: pd.DataFrame | None, transactions: pd.DataFrame) -> str | None:
    """Why :class:`PriceAffinityRecommender` cannot work here (neither the products nor the sales lines carry a
    price: a shop without money), else ``None``."""
    listed = products is not None and contract.PRICE in products and products[contract.PRICE].notna().any()
    paid = contract.UNIT_PRICE in transactions and _sales(transactions)[contract.UNIT_PRICE].notna().any()
    if listed or paid:
        return None
    return ("the price-affinity recommender ranks products near the prices a customer paid, and this shop has no "
            "prices (no product price, no priced sales line: a clickstream); it is left out")


class PriceAffinityRecommender(Recommender):
    """Popular products in the customer's usual price band.

    A customer's band is the mean and spread of the log unit prices they paid (each sales line once),
    shrunk towards everyone's with ``prior_strength`` pseudo-lines; a product scores
    ``popularity ** popularity_weight x exp(-z**2 / 2)``, z = (log price - mean) / spread.
    """

    name = "price_affinity"

    def __init__(self, popularity_weight: float = 1.0, prior_strength: float = 3.0, min_sigma: float = 0.2):
        self.popularity_weight = popularity_weight
        self.prior_strength = prior_strength
        self.min_sigma = min_sigma


    def _fit(self, interactions: Interactions, transactions: pd.DataFrame | None = None,
             products: pd.DataFrame | None = None, **context) -> None:
        if transactions is None:
            raise ValueError("PriceAffinityRecommender.fit needs transactions=... (the training purchases)")
        reason = no_prices_reason(products, transactions)
        if reason:
            raise ValueError(reason)
        price = transactions[contract.UNIT_PRICE].to_numpy(dtype=np.float64)
        keep = (transactions[contract.QUANTITY] > 0).to_numpy() & (price > 0)
        self.log_price_ = np.log(product_prices(products, transactions, interactions.product_ids))
        r = interactions.locate(transactions)[0]  # every line's row, shared by the components
        ok = keep & (r >= 0)
        r, x = r[ok], np.log(price[ok])
        n_c = np.bincount(r, minlength=interactions.shape[0]).astype(np.float64)
        # float64 also without a priced line (bincount of nothing is int64, whatever the weights)
        s1 = np.bincount(r, weights=x, minlength=interactions.shape[0]).astype(np.float64)
        s2 = np.bincount(r, weights=x * x, minlength=interactions.shape[0]).astype(np.float64)
        # nobody paid anything yet (views only): everyone's band is centred on the catalog's prices
        mu_g = float(x.mean()) if len(x) else float(self.log_price_.mean()) if len(self.log_price_) else 0.0
        var_g = float(x.var()) if len(x) > 1 else 1.0
        a = float(self.prior_strength)
        mean_c = np.divide(s1, n_c, out=np.zeros_like(s1), where=n_c > 0)
        var_c = np.divide(s2, n_c, out=np.zeros_like(s2), where=n_c > 0) - mean_c ** 2
        self.mu_ = (n_c * mean_c + a * mu_g) / (n_c + a)
        sig2 = (n_c * np.maximum(var_c, 0) + a * var_g) / (n_c + a)
        self.sigma_ = np.maximum(np.sqrt(sig2), float(self.min_sigma))
        self.mu_global_, self.sigma_global_ = mu_g, max(np.sqrt(var_g), float(self.min_sigma))
        self._pop = np.power(self.popularity_, float(self.popularity_weight))

    def _band(self, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        # float32, in place: one exp per customer and product is this model's whole scoring cost
        z = self.log_price_.astype(np.float32)[None, :] - mu.astype(np.float32)[:, None]
        z /= sigma.astype(np.float32)[:, None]
        z *= z
        z *= np.float32(-0.5)
        np.exp(z, out=z)
        z *= self._pop.astype(np.float32)[None, :]
        return z

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        return self._band(self.mu_[rows], self.sigma_[rows])

    def _score_cold(self, n: int) -> np.ndarray:
        return self._band(np.full(n, self.mu_global_), np.full(n, self.sigma_global_))

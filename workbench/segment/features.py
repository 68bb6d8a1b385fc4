"""Per-customer clustering features: log-RFM by default, behaviour extras on request.

Every feature is a column of one row per *buyer* (index ``customer_id``, the buyers of the RFM table in
its order), from the transactions before the RFM table's analysis date; customers without a purchase have no recency and are not clustered. The model standardises
the columns, so the log transforms here only tame the skew:

* ``recency``, ``frequency``, ``monetary``: ``log1p`` of the RFM table's values (monetary clipped at 0;
  left out, with ``basket_value``, when the purchases carry no price);
* ``basket_value``: ``log1p`` of net revenue per purchase invoice;
* ``basket_size``: ``log1p`` of the mean number of purchase lines per invoice;
* ``tenure``: ``log1p`` of the days from the first purchase to the analysis date;
* ``regularity``: the coefficient of variation (sd / mean) of the days between a customer's distinct
  purchase days; 0 = clockwork, about 1 = memoryless (Poisson) buying, above 1 = bursts. Customers with
  fewer than two gaps (under three purchase days) get 1, the memoryless value, as nothing says otherwise;
* ``return_share``: returned revenue / purchased revenue, in [0, 1];
* ``category_shares``: one column ``cat_<name>`` per category, the share of purchase revenue in it.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.data.shop import with_revenue
from workbench.segment.rfm import FIRST_PURCHASE, FREQUENCY, MONETARY, RECENCY

log = logging.getLogger(__name__)

BASKET_VALUE, BASKET_SIZE, TENURE = "basket_value", "basket_size", "tenure"
REGULARITY, RETURN_SHARE, CATEGORY_SHARES = "regularity", "return_share", "category_shares"
#: the log-RFM features every clustering uses
BASE_FEATURES = (RECENCY, FREQUENCY, MONETARY)
#: the optional extras (the ``extra_features`` param)
EXTRA_FEATURES = (BASKET_VALUE, BASKET_SIZE, TENURE, REGULARITY, RETURN_SHARE, CATEGORY_SHARES)
#: extras computed from the transactions rather than the RFM table
NEEDS_TRANSACTIONS = (BASKET_SIZE, REGULARITY, RETURN_SHARE, CATEGORY_SHARES)
#: the regularity of a customer with fewer than two gaps between purchase days (memoryless buying)
MEMORYLESS_CV = 1.0


def category_shares(transactions: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Return per customer (index) the share of purchase revenue in each product category (columns ``cat_<name>``)."""
    tx = with_revenue(transactions[transactions[contract.QUANTITY] > 0])
    cat = products.set_index(contract.PRODUCT_ID)[contract.CATEGORY].astype("str")
    tx = tx.assign(**{contract.CATEGORY: tx[contract.PRODUCT_ID].map(cat).fillna("unknown").to_numpy()})
    wide = tx.pivot_table(index=contract.CUSTOMER_ID, columns=contract.CATEGORY, values=contract.REVENUE, aggfunc="sum",
                          fill_value=0.0, observed=True)
    wide = wide.div(wide.sum(axis=1).replace(0.0, np.nan), axis=0).fillna(0.0)
    wide.columns = [f"cat_{c}" for c in wide.columns]
    return wide.sort_index(axis=1)


def basket_size(transactions: pd.DataFrame) -> pd.Series:
    """Return per customer the mean number of purchase lines per invoice with a purchase."""
    buys = transactions.loc[transactions[contract.QUANTITY] > 0, [contract.CUSTOMER_ID, contract.TRANSACTION_ID]]
    per_invoice = buys.groupby([contract.CUSTOMER_ID, contract.TRANSACTION_ID], observed=True, sort=False).size()
    return per_invoice.groupby(level=0, observed=True).mean().rename(BASKET_SIZE)


def purchase_regularity(transactions: pd.DataFrame) -> pd.Series:
    """Return per customer the coefficient of variation of the days between distinct purchase days.

    Customers with fewer than two gaps get :data:`MEMORYLESS_CV`.
    """
    buys = transactions.loc[transactions[contract.QUANTITY] > 0, [contract.CUSTOMER_ID, contract.TIMESTAMP]]
    days = pd.DataFrame({contract.CUSTOMER_ID: buys[contract.CUSTOMER_ID].to_numpy(),
                         "day": buys[contract.TIMESTAMP].dt.floor("D").to_numpy()}).drop_duplicates()
    days = days.sort_values([contract.CUSTOMER_ID, "day"], kind="stable")
    same = days[contract.CUSTOMER_ID].to_numpy()[1:] == days[contract.CUSTOMER_ID].to_numpy()[:-1]
    gap_days = np.diff(days["day"].to_numpy()).astype("timedelta64[D]").astype("float64")
    gaps = pd.Series(gap_days[same], index=days[contract.CUSTOMER_ID].to_numpy()[1:][same])
    g = gaps.groupby(level=0, sort=False)
    stats = pd.DataFrame({"n": g.size(), "mean": g.mean(), "sd": g.std(ddof=0)})
    cv = (stats["sd"] / stats["mean"]).where(stats["n"] >= 2)
    ids = pd.Index(days[contract.CUSTOMER_ID].unique())
    return cv.reindex(ids).fillna(MEMORYLESS_CV).rename(REGULARITY)


def return_share(transactions: pd.DataFrame) -> pd.Series:
    """Return per customer the returned revenue as a share of the purchased revenue (0 without purchases)."""
    tx = with_revenue(transactions[[contract.CUSTOMER_ID, contract.QUANTITY, contract.UNIT_PRICE]])
    bought = tx[contract.REVENUE].clip(lower=0.0).groupby(tx[contract.CUSTOMER_ID], observed=True).sum()
    returned = (-tx[contract.REVENUE].clip(upper=0.0)).groupby(tx[contract.CUSTOMER_ID], observed=True).sum()
    share = (returned / bought.replace(0.0, np.nan)).fillna(0.0).clip(0.0, 1.0)
    return share.rename(RETURN_SHARE)


def cluster_features(table: pd.DataFrame, extra: list[str] | tuple[str, ...] = (),
                     transactions: pd.DataFrame | None = None, products: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the clustering features of the buyers (index customer_id): log1p R, F, M and the ``extra`` ones."""
    unknown = set(extra) - set(EXTRA_FEATURES)
    if unknown:
        raise ValueError(f"unknown extra feature(s) {sorted(unknown)}; choose from {list(EXTRA_FEATURES)}")
    need_tx = [e for e in extra if e in NEEDS_TRANSACTIONS]
    if need_tx and transactions is None:
        raise ValueError(f"the extra feature(s) {need_tx} need the transactions")
    if CATEGORY_SHARES in extra and products is None:
        raise ValueError("category_shares needs the products")
    b = table[table[FREQUENCY] > 0].set_index(contract.CUSTOMER_ID)
    date = pd.Timestamp(table.attrs.get("analysis_date", b["last_purchase"].max() + pd.Timedelta(days=1)))
    if transactions is not None:  # the RFM table's window: only what happened before the analysis date
        transactions = transactions[transactions[contract.TIMESTAMP] < date]
    out = pd.DataFrame({
        RECENCY: np.log1p(b[RECENCY].astype("float64")),
        FREQUENCY: np.log1p(b[FREQUENCY].astype("float64")),
        MONETARY: np.log1p(b[MONETARY].astype("float64").clip(lower=0.0)),
    }, index=b.index)
    if b[MONETARY].isna().all():  # a shop without money: cluster on what the customers did, not what they spent
        log.info("clustering features: no monetary value (purchases without prices); %s left out",
                 ", ".join(f for f in (MONETARY, BASKET_VALUE) if f == MONETARY or f in extra))
        out = out.drop(columns=MONETARY)
        extra = [e for e in extra if e != BASKET_VALUE]
    if BASKET_VALUE in extra:
        out[BASKET_VALUE] = np.log1p((b[MONETARY].clip(lower=0.0) / b[FREQUENCY]).astype("float64"))
    if BASKET_SIZE in extra:
        out[BASKET_SIZE] = np.log1p(basket_size(transactions).reindex(out.index).fillna(1.0).astype("float64"))
    if TENURE in extra:
        out[TENURE] = np.log1p((date - b[FIRST_PURCHASE]).dt.days.astype("float64"))
    if REGULARITY in extra:
        out[REGULARITY] = purchase_regularity(transactions).reindex(out.index).fillna(MEMORYLESS_CV)
    if RETURN_SHARE in extra:
        out[RETURN_SHARE] = return_share(transactions).reindex(out.index).fillna(0.0)
    if CATEGORY_SHARES in extra:
        out = out.join(category_shares(transactions, products).reindex(out.index).fillna(0.0))
    return out

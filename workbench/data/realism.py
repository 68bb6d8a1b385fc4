"""How much a shop's purchases look like a real consumer web shop's: a few statistics and their ranges.

:func:`shop_statistics` works on any shop in the data contract (sales lines only, quantity > 0) and
returns the numbers of the realism table (docs/synthetic.md); :data:`WEB_SHOP_RANGES` holds the ranges the
default synthetic shop is kept inside (and the reason for each), :func:`outside_ranges` lists breaches.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data import contract as data_contract

#: a customer needs at least this many sale lines to count in ``top_category_share``
MIN_LINES_FOR_TOP_CATEGORY = 5


@dataclass(frozen=True)
class Range:
    """An inclusive range for one statistic and why it describes a consumer web shop."""

    low: float
    high: float
    why: str


#: what a consumer web shop looks like (the default synthetic shop is tested against these)
WEB_SHOP_RANGES: dict[str, Range] = {
    "lines_per_invoice": Range(
        2.0, 6.0, "a consumer order holds a few distinct products (Groceries member-days 2.5, the arules "
        "Groceries baskets 4.4); Online Retail's 21 is a wholesaler's, its customers are mostly gift shops"),
    "rebuy_line_share": Range(
        0.10, 0.40, "staples and favourites come back (Online Retail 0.31, Groceries member-days 0.09): below "
        "0.10 a shop has no re-buying to speak of, above 0.40 it is a replenishment service"),
    "repeat_customer_share": Range(
        0.35, 0.75, "buyers with more than one invoice (Online Retail 0.66; Groceries 0.91 counts loyalty-card "
        "members only): a web shop keeps between a third and three quarters of its buyers"),
    "popularity_gini": Range(
        0.45, 0.80, "Gini of distinct buyers per sold product, a long tail (Online Retail 0.59, Groceries "
        "0.63): below 0.45 popularity is flat, above 0.80 a handful of products is all that sells"),
    "top_category_share": Range(
        0.35, 0.65, "share of a customer's lines in their top category, customers with at least 5 lines "
        "(Online Retail 0.30 over 22 categories, Groceries 0.32 over 13): taste gathers on a category but "
        "people shop across several. It depends on the number of categories: over the synthetic shop's 8, "
        "a customer with no taste already reaches 0.32 by chance and season, so the floor sits above that"),
}


def _gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = all equal, -> 1 = one takes all)."""
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    if n == 0 or x.sum() == 0:
        return float("nan")
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum()))


def shop_statistics(transactions: pd.DataFrame, products: pd.DataFrame | None = None) -> dict[str, float]:
    """The realism statistics of a shop's sale lines (quantity > 0).

    ``lines_per_invoice``: mean distinct products per invoice; ``rebuy_line_share``: share of lines
    whose product the customer bought on an earlier invoice; ``repeat_customer_share``: buying
    customers with more than one invoice; ``popularity_gini``: Gini of distinct buyers per sold
    product; ``top_category_share``: mean share of a customer's lines in their most-bought category
    (customers with at least :data:`MIN_LINES_FOR_TOP_CATEGORY` lines; needs ``products``). Also counts:
    ``customers``, ``products``, ``invoices``, ``lines``, ``categories``.
    """
    sales = transactions.loc[transactions[data_contract.QUANTITY] > 0, [data_contract.TRANSACTION_ID, data_contract.CUSTOMER_ID, data_contract.PRODUCT_ID,
                                                              data_contract.TIMESTAMP]]
    inv = sales[data_contract.TRANSACTION_ID].astype("str")
    cust = pd.factorize(sales[data_contract.CUSTOMER_ID].astype("str"))[0]
    prod_codes, prod_index = pd.factorize(sales[data_contract.PRODUCT_ID].astype("str"))
    inv_codes = pd.factorize(inv)[0]
    # one line per (invoice, product), as the contract has it for the synthetic shop
    lines = pd.DataFrame({"inv": inv_codes, "cust": cust, "prod": prod_codes,
                          "t": sales[data_contract.TIMESTAMP].to_numpy()}).drop_duplicates(["inv", "prod"])
    n_lines = len(lines)
    out: dict[str, float] = {"customers": int(lines["cust"].nunique()), "products": int(lines["prod"].nunique()),
                             "invoices": int(lines["inv"].nunique()), "lines": int(n_lines)}
    out["lines_per_invoice"] = n_lines / max(out["invoices"], 1)
    first = lines.groupby(["cust", "prod"], sort=False)["t"].transform("min")
    out["rebuy_line_share"] = float((lines["t"] > first).mean()) if n_lines else float("nan")
    inv_per_cust = lines.groupby("cust", sort=False)["inv"].nunique()
    out["repeat_customer_share"] = float((inv_per_cust > 1).mean()) if len(inv_per_cust) else float("nan")
    buyers = lines.drop_duplicates(["cust", "prod"]).groupby("prod", sort=False).size()
    out["popularity_gini"] = _gini(buyers.to_numpy())
    out["top_category_share"] = float("nan")
    out["categories"] = float("nan")
    if products is not None and data_contract.CATEGORY in products:
        cat_of = products.drop_duplicates(data_contract.PRODUCT_ID).set_index(products.drop_duplicates(data_contract.PRODUCT_ID)[data_contract.PRODUCT_ID]
                                                                  .astype("str"))[data_contract.CATEGORY].astype("str")
        cat = pd.factorize(cat_of.reindex(prod_index).to_numpy()[lines["prod"].to_numpy()])[0]
        per = pd.DataFrame({"cust": lines["cust"].to_numpy(), "cat": cat}).groupby(["cust", "cat"]).size()
        total = per.groupby(level="cust").sum()
        top = per.groupby(level="cust").max()
        keep = total >= MIN_LINES_FOR_TOP_CATEGORY
        out["top_category_share"] = float((top[keep] / total[keep]).mean()) if keep.any() else float("nan")
        out["categories"] = int(cat_of.nunique())
    return out


def outside_ranges(stats: dict[str, float], ranges: dict[str, Range] = WEB_SHOP_RANGES) -> dict[str, str]:
    """Statistics outside their range (or missing), each with a message naming the value and range."""
    bad = {}
    for name, r in ranges.items():
        v = stats.get(name)
        if v is None or not np.isfinite(v) or not r.low <= v <= r.high:
            bad[name] = f"{name} = {v} outside [{r.low}, {r.high}]: {r.why}"
    return bad

"""Degenerate but valid shops (and one invalid one), written as CSV contract folders.

Each is cut from one small synthetic shop, the way a data scientist's first extract often looks: a pilot
market, one week of logs, a one-product brand. ``python tests/degenerate/shops.py OUT`` writes them all
to ``OUT/<name>/`` (customers.csv, products.csv, transactions.csv) for trying by hand::

    python -m workbench run --params default -p data.source=csv -p data.path=OUT/one_day --out /tmp/one_day
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data import contract as data_contract
from workbench.data.synthetic import generate_shop

#: the base shop every degenerate one is cut from (small: these shops test completion, not quality)
BASE = {"n_customers": 120, "n_products": 60, "n_weeks": 26, "seed": 11}


def _base() -> dict[str, pd.DataFrame]:
    shop = generate_shop(BASE)
    return {data_contract.CUSTOMERS: shop.customers, data_contract.PRODUCTS: shop.products, data_contract.TRANSACTIONS: shop.transactions,
            data_contract.EVENTS: shop.events, data_contract.PRICES: shop.prices}


def _only(tables: dict, tx: pd.DataFrame, customers: pd.Series | None = None) -> dict:
    """The customers, products and the lines ``tx`` (of ``customers`` only, when given): no optional table."""
    cust = tables[data_contract.CUSTOMERS]
    if customers is not None:
        cust = cust[cust[data_contract.CUSTOMER_ID].isin(customers)]
    return {data_contract.CUSTOMERS: cust, data_contract.PRODUCTS: tables[data_contract.PRODUCTS], data_contract.TRANSACTIONS: tx}


def no_repeat(t: dict) -> dict:
    """Every customer bought once: only each customer's first invoice is kept."""
    tx = t[data_contract.TRANSACTIONS]
    first = tx.sort_values(data_contract.TIMESTAMP).groupby(data_contract.CUSTOMER_ID)[data_contract.TRANSACTION_ID].first()
    return _only(t, tx[tx[data_contract.TRANSACTION_ID].isin(first)])


def one_product(t: dict) -> dict:
    """A one-product brand: the catalog and the lines of the best-selling product only."""
    tx = t[data_contract.TRANSACTIONS]
    best = tx[data_contract.PRODUCT_ID].value_counts().index[0]
    out = _only(t, tx[tx[data_contract.PRODUCT_ID] == best])
    out[data_contract.PRODUCTS] = t[data_contract.PRODUCTS][t[data_contract.PRODUCTS][data_contract.PRODUCT_ID] == best]
    return out


def one_day(t: dict) -> dict:
    """One day of logs: every line moved to the shop's busiest day (time of day kept)."""
    tx = t[data_contract.TRANSACTIONS].copy()
    day = tx[data_contract.TIMESTAMP].dt.normalize().value_counts().index[0]
    tx[data_contract.TIMESTAMP] = day + (tx[data_contract.TIMESTAMP] - tx[data_contract.TIMESTAMP].dt.normalize())
    cust = t[data_contract.CUSTOMERS].copy()
    cust[data_contract.SIGNUP_DATE] = cust[data_contract.SIGNUP_DATE].clip(upper=day)
    return {**_only(t, tx), data_contract.CUSTOMERS: cust}


def one_customer(t: dict) -> dict:
    """A single customer (the most active one) and their lines."""
    tx = t[data_contract.TRANSACTIONS]
    who = tx[data_contract.CUSTOMER_ID].value_counts().index[0]
    return _only(t, tx[tx[data_contract.CUSTOMER_ID] == who], pd.Series([who]))


def twenty_customers(t: dict) -> dict:
    """A pilot: 20 customers and the first 30 lines they bought."""
    tx = t[data_contract.TRANSACTIONS]
    who = tx[data_contract.CUSTOMER_ID].drop_duplicates().iloc[:20]
    lines = tx[tx[data_contract.CUSTOMER_ID].isin(who)].sort_values([data_contract.TIMESTAMP, data_contract.TRANSACTION_ID]).iloc[:30]
    return _only(t, lines, who)


def one_day_priced(t: dict) -> dict:
    """One day of sales, with the shop's whole weekly price history (26 weeks, prices that move): enough
    periods and price points for pricing's limits, but no sale outside one day."""
    out = one_day(t)
    out[data_contract.PRICES] = t[data_contract.PRICES]
    return out


def views_only(t: dict) -> dict:
    """A product-view log: the views of the clickstream, no purchase event and no transactions at all."""
    ev = t[data_contract.EVENTS]
    return {data_contract.CUSTOMERS: t[data_contract.CUSTOMERS], data_contract.PRODUCTS: t[data_contract.PRODUCTS],
            data_contract.EVENTS: ev[ev[data_contract.EVENT].astype("str") == "view"]}


def only_returns(t: dict) -> dict:
    """Invalid: every line is a return (negative quantity), there are no sales."""
    tx = t[data_contract.TRANSACTIONS].copy()
    tx[data_contract.QUANTITY] = -tx[data_contract.QUANTITY].abs()
    return _only(t, tx)


def single_category(t: dict) -> dict:
    """Every product in one category."""
    prod = t[data_contract.PRODUCTS].copy()
    prod[data_contract.CATEGORY] = "general"
    return {**t, data_contract.PRODUCTS: prod}


def timezone_offsets(t: dict) -> dict:
    """Timestamps written with UTC offsets (+02:00, -05:00 ...), as exports from several regions look."""
    tx = t[data_contract.TRANSACTIONS].copy()
    offsets = np.array([2, -5, 0, 9])[np.arange(len(tx)) % 4]
    stamps = tx[data_contract.TIMESTAMP] + pd.to_timedelta(offsets, unit="h")
    tx[data_contract.TIMESTAMP] = [f"{s.isoformat()}{o:+03d}:00" for s, o in zip(stamps, offsets)]
    return {**t, data_contract.TRANSACTIONS: tx}


def _then(first, second):
    """A builder applying ``first``, then ``second``: two odd traits in one shop (each run costs a minute)."""
    def build(t: dict) -> dict:
        return second(first(t))
    build.__doc__ = f"{first.__doc__} {second.__doc__}"
    return build


#: name -> builder (from the base shop's tables to the degenerate shop's tables); the one-day log is also
#: written with UTC offsets, and the pilot's products are all in one category
SHOPS = {
    "no_repeat": no_repeat,
    "one_product": one_product,
    "one_day": _then(one_day, timezone_offsets),
    "one_customer": one_customer,
    "twenty_customers": _then(twenty_customers, single_category),
    "one_day_priced": one_day_priced,
    "views_only": views_only,
    "only_returns": only_returns,
}
#: shops that are invalid: loading stops with a WorkbenchError before any notebook runs deep
INVALID = ("only_returns",)


def write_shops(out: str | Path, names=None) -> dict[str, Path]:
    """Write the shops (all, or ``names``) as CSV contract folders under ``out``; return name -> folder."""
    base = _base()
    folders = {}
    for name in names or SHOPS:
        folder = Path(out) / name
        folder.mkdir(parents=True, exist_ok=True)
        for table, df in SHOPS[name](base).items():
            df.to_csv(folder / f"{table}.csv", index=False)
        folders[name] = folder
    return folders


def params_for(name: str, folder: Path, **extra) -> dict:
    """Params (a dict for :func:`workbench.runner.run`) that read the shop in ``folder``."""
    return {"name": f"degenerate_{name}", "seed": 42, "data": {"source": "csv", "path": str(folder), "strict": False},
            **extra}


if __name__ == "__main__":
    for n, f in write_shops(sys.argv[1] if len(sys.argv) > 1 else "degenerate_shops").items():
        print(n, f)

"""Adapter for the Kaggle "Retail Price Optimization" data (52 products, 9 categories, 2017-01 .. 2018-08).

One csv, one row per product and month that sold: units (``qty``), the month's mean own price
(``unit_price``), three competitors' prices (``comp_1..3``), freight and product attributes. It maps to:

* ``products``: one per ``product_id``; category = ``product_category_name``; price = the median monthly
  price; weight, photos and score kept as extra columns;
* ``prices``: one row per product and month (date = first of the month): ``price`` = ``unit_price``,
  ``competitor_price`` = mean of ``comp_1..3``, which are kept as extra columns with ``freight_price``
  and ``lag_price``. There is no stock column. Months without sales are absent from the file, so their
  prices are unknown: the price history covers only months that sold;
* ``transactions`` and ``customers`` are SYNTHETIC, made only so the contract holds: the file has no
  customers or orders. Each product-month becomes one transaction line of ``qty`` units at
  ``unit_price``, bought by one pseudo-customer per month (``M2017-05`` = "that month's buyers", signed
  up on the first of the month). Customer-level analyses on this source are meaningless; notebook 06
  (pricing) uses the monthly units and prices, which are real.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data import contract as data_contract
from workbench.data.adapters._common import check_options, dataset_file
from workbench.data.shop import Shop

log = logging.getLogger(__name__)

FOLDER = "retail-price"
FILE = "retail_price.csv"
COMPETITORS = ("comp_1", "comp_2", "comp_3")
#: extra columns kept on the prices table and on the products table
PRICE_EXTRAS = (*COMPETITORS, "freight_price", "lag_price")
PRODUCT_EXTRAS = ("product_weight_g", "product_photos_qty", "product_score")


def load(path: str | Path | None = None, **options) -> Shop:
    """Return the raw retail-price shop: products, monthly prices with competitor prices, and synthetic
    one-line-per-product-month transactions by one pseudo-customer per month (see the module docstring)."""
    check_options("retail_price", options)
    f = dataset_file(FOLDER, FILE, path)
    raw = pd.read_csv(f, dtype={"product_id": "str"})
    log.info("retail_price: read %d rows from %s", len(raw), f)
    month = pd.to_datetime(raw["month_year"], format="%d/%m/%Y", errors="coerce")
    pid = raw["product_id"].astype("str")

    prices = pd.DataFrame({
        data_contract.PRODUCT_ID: pid,
        data_contract.DATE: month,
        data_contract.PRICE: raw["unit_price"].astype("float64"),
        data_contract.COMPETITOR_PRICE: raw[list(COMPETITORS)].astype("float64").mean(axis=1),
    })
    for col in PRICE_EXTRAS:
        prices[col] = raw[col].astype("float64")

    first = raw.assign(_pid=pid).drop_duplicates("_pid")
    median_price = raw.groupby(pid)["unit_price"].median()
    products = pd.DataFrame({
        data_contract.PRODUCT_ID: first["_pid"].to_numpy(),
        data_contract.NAME: (first["product_category_name"].astype("str") + " " + first["_pid"]).to_numpy(),
        data_contract.CATEGORY: first["product_category_name"].astype("str").to_numpy(),
        data_contract.PRICE: median_price.reindex(first["_pid"]).to_numpy(),
    })
    for col in PRODUCT_EXTRAS:
        products[col] = first[col].to_numpy()

    cust = "M" + month.dt.strftime("%Y-%m").fillna("unknown")
    transactions = pd.DataFrame({
        data_contract.TRANSACTION_ID: pid + "-" + month.dt.strftime("%Y%m").fillna("unknown"),
        data_contract.CUSTOMER_ID: cust,
        data_contract.PRODUCT_ID: pid,
        data_contract.TIMESTAMP: month,
        data_contract.QUANTITY: raw["qty"],
        data_contract.UNIT_PRICE: raw["unit_price"].astype("float64"),
    })
    months = month.dropna().drop_duplicates().sort_values()
    customers = pd.DataFrame({data_contract.CUSTOMER_ID: "M" + months.dt.strftime("%Y-%m").to_numpy(),
                              data_contract.SIGNUP_DATE: months.to_numpy()})
    log.info("retail_price: %d products, %d product-months, %d months (transactions and customers are "
             "synthetic: one line per product-month, one pseudo-customer per month)",
             len(products), len(prices), len(customers))
    meta = {"source": str(f), "rows_read": len(raw), "synthetic_customers": True, "dates_known": True,
            "prices_known": True, "period": "MS"}
    return Shop(customers=customers, products=products, transactions=transactions, prices=prices,
                name="retail_price", meta=meta)

"""Adapter for the CDNOW purchase data (Fader & Hardie): 1997-01-01 .. 1998-06-30.

Each row is one customer's purchase on one day: number of CDs and dollar value. There is one product,
"CD" (category "music"); ``unit_price`` is dollars / CDs. A customer may have several rows on one day,
so the transaction id carries the row number. Rows with 0 CDs keep quantity 0 and rows with $0 keep
unit price 0, so validation quarantines them (``zero:quantity``, ``non_positive:unit_price``).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.data.adapters._common import check_options, dataset_file, first_seen, int_ids
from workbench.data.shop import Shop
from workbench.errors import ConfigError

log = logging.getLogger(__name__)

FOLDER = "cdnow"
FILES = {"master": "CDNOW_master.txt", "sample": "CDNOW_sample.txt"}
PRODUCT = "CD"
CATEGORY = "music"

#: extra transaction column: the row's dollar value as in the file (exact, unlike quantity * unit_price)
DOLLARS = "dollars"
#: extra customer column of the sample file: the customer's id in the master file
MASTER_ID = "master_id"


def _read(f: Path, file: str) -> pd.DataFrame:
    """Return the file's rows as columns customer, master, date, cds, dollars (all text)."""
    if file == "master":
        raw = pd.read_csv(f, sep=r"\s+", header=None, skiprows=1, dtype="str",
                          names=["customer", "date", "cds", "dollars"])
        raw["master"] = raw["customer"]
    else:
        raw = pd.read_csv(f, sep=r"\s+", header=None, dtype="str",
                          names=["master", "customer", "date", "cds", "dollars"])
    return raw


def load(path: str | Path | None = None, file: str = "master", **options) -> Shop:
    """Return the raw CDNOW shop (customers, the single product "CD", purchase rows) from the master or sample file."""
    check_options("cdnow", options)
    if file not in FILES:
        raise ConfigError(f"cdnow: file={file!r} is unknown; choose 'master' or 'sample'")
    f = dataset_file(FOLDER, FILES[file], path)
    raw = _read(f, file)
    n = len(raw)
    customer = int_ids(raw["customer"])
    date = pd.to_datetime(raw["date"], format="%Y%m%d", errors="coerce")
    cds = pd.to_numeric(raw["cds"], errors="coerce")
    dollars = pd.to_numeric(raw["dollars"], errors="coerce").astype("float64")
    cds_f = cds.to_numpy(dtype="float64", na_value=np.nan)
    # dollars / CDs where there are CDs; a 0-CD row keeps its dollars (validation flags its zero quantity)
    unit = np.divide(dollars.to_numpy(), cds_f, out=dollars.to_numpy().copy(), where=cds_f != 0)
    row = pd.Series(np.arange(1, n + 1), dtype="int64").astype("str")
    transactions = pd.DataFrame({
        contract.TRANSACTION_ID: customer.fillna("?") + "-" + raw["date"].fillna("?") + "-" + row,
        contract.CUSTOMER_ID: customer,
        contract.PRODUCT_ID: np.full(n, PRODUCT, dtype=object),
        contract.TIMESTAMP: date,
        contract.QUANTITY: cds,  # int64; float only if the file has a missing or fractional count
        contract.UNIT_PRICE: unit,
        DOLLARS: dollars,
    })
    transactions[contract.PRODUCT_ID] = transactions[contract.PRODUCT_ID].astype("str")

    signup = first_seen(transactions, contract.CUSTOMER_ID, contract.TIMESTAMP).reindex(customer.dropna().unique())  # file order
    customers = pd.DataFrame({contract.CUSTOMER_ID: signup.index.astype("str"), contract.SIGNUP_DATE: signup.to_numpy()})
    if file == "sample":
        master = int_ids(raw["master"]).groupby(customer.to_numpy()).first()
        customers[MASTER_ID] = master.reindex(customers[contract.CUSTOMER_ID]).to_numpy()
    positive = unit[unit > 0]
    products = pd.DataFrame({
        contract.PRODUCT_ID: [PRODUCT],
        contract.NAME: [PRODUCT],
        contract.CATEGORY: [CATEGORY],
        contract.PRICE: [float(np.median(positive)) if len(positive) else 1.0],
        contract.DESCRIPTION: ["a compact disc (CDNOW records CDs and dollars per purchase, not titles)"],
    })
    log.info("cdnow(%s): %d rows, %d customers, %d CDs, $%.2f; %d rows with 0 CDs, %d with $0",
             file, n, len(customers), int(cds.sum()), float(dollars.sum()), int((cds == 0).sum()),
             int((dollars == 0).sum()))
    meta = {"source": str(f), "file": file, "rows_read": n, "dates_known": True, "prices_known": True}
    return Shop(customers=customers, products=products, transactions=transactions, name=f"cdnow_{file}",
                meta=meta)

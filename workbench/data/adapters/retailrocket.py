"""Adapter for the RetailRocket e-commerce data set (Kaggle): a clickstream without money.

``events.csv`` has one row per event: ``timestamp`` (Unix milliseconds), ``visitorid``, ``event``
(``view``, ``addtocart``, ``transaction``), ``itemid`` and ``transactionid`` (on purchase events only).
The shop it gives has customers (visitors, signed up when first seen), products (items) and an events
table; no transactions, no prices (the item properties' prices are hashed). Purchase events keep their
``transactionid`` as the events' extra column ``transaction_id``.

When ``item_properties_part*.csv`` sit beside ``events.csv``, each item's category is its latest
``categoryid`` (``"cat<id>"``); otherwise every item is in category ``unknown``. Rows are never dropped
here: unreadable timestamps or ids become missing values, which validation quarantines with the reason.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data import contract as data_contract
from workbench.data.adapters._common import check_options, dataset_file, first_seen, int_ids
from workbench.data.shop import Shop
from workbench.errors import ConfigError, DataSourceError

log = logging.getLogger(__name__)

FOLDER = "retailrocket"
EVENTS_FILE = "events.csv"
#: the columns of events.csv, in the file's order
COLUMNS = ("timestamp", "visitorid", "event", "itemid", "transactionid")
PROPERTIES_GLOB = "item_properties_part*.csv"
UNKNOWN = "unknown"
#: timestamp units the option ``timestamp_unit`` accepts (the published file is in milliseconds)
UNITS = ("ms", "s", "us", "ns")


def read_events(f: Path, nrows: int | None = None) -> pd.DataFrame:
    """Return events.csv as text columns (ids and times parsed later), checking its header."""
    try:
        raw = pd.read_csv(f, dtype="str", nrows=nrows, keep_default_na=True)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataSourceError(f"retailrocket: cannot read '{f}': {exc}") from exc
    raw.columns = raw.columns.str.strip().str.lower()
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise DataSourceError(f"retailrocket: '{f}' lacks column(s) {missing}; a RetailRocket events file has "
                              f"{list(COLUMNS)} (has {list(raw.columns)[:8]})")
    return raw


def timestamps(values: pd.Series, unit: str = "ms") -> pd.Series:
    """Return Unix times in ``unit`` as datetimes; text that is not a number becomes missing (NaT)."""
    num = pd.to_numeric(values, errors="coerce")
    bad = int((num.isna() & values.notna()).sum())
    if bad:
        log.warning("retailrocket: %d timestamp(s) are not numbers and become missing (validation quarantines "
                    "them)", bad)
    finite = np.isfinite(num.to_numpy(dtype="float64", na_value=np.nan))
    limit = {"ms": 1e14, "s": 1e11, "us": 1e17, "ns": 9e18}[unit]  # beyond the year 5000: junk, not a time
    ok = finite & (np.abs(num.to_numpy(dtype="float64", na_value=np.nan)) < limit)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ms]")
    out[ok] = pd.to_datetime(num[ok].astype("int64"), unit=unit)
    return out


def item_categories(folder: Path) -> pd.Series | None:
    """Each item's latest ``categoryid`` from the item properties files (``None`` when there are none)."""
    files = sorted(folder.glob(PROPERTIES_GLOB))
    if not files:
        return None
    parts = []
    for f in files:  # the published files hold ~20M rows: keep only the categoryid rows, chunk by chunk
        for chunk in pd.read_csv(f, dtype="str", chunksize=1_000_000):
            chunk.columns = chunk.columns.str.strip().str.lower()
            parts.append(chunk.loc[chunk["property"] == "categoryid", ["timestamp", "itemid", "value"]])
    props = pd.concat(parts, ignore_index=True)
    props["timestamp"] = pd.to_numeric(props["timestamp"], errors="coerce")
    props["itemid"] = int_ids(props["itemid"])
    props = props.dropna(subset=["itemid", "value"]).sort_values("timestamp", kind="stable")
    latest = props.drop_duplicates("itemid", keep="last").set_index("itemid")["value"]
    return "cat" + latest.str.strip()


def load(path: str | Path | None = None, nrows: int | None = None, timestamp_unit: str = "ms",
         **options) -> Shop:
    """Return the raw RetailRocket shop: visitors, items and their events (no transactions, no prices).

    ``nrows`` reads only the file's first rows (a quick look at the 2.7M events); ``timestamp_unit`` is the
    unit of the Unix times (``ms`` in the published file).
    """
    check_options("retailrocket", options)
    if timestamp_unit not in UNITS:
        raise ConfigError(f"retailrocket: timestamp_unit={timestamp_unit!r} is unknown; choose one of {UNITS}")
    if nrows is not None and (not isinstance(nrows, int) or nrows <= 0):
        raise ConfigError(f"retailrocket: nrows={nrows!r} must be a positive integer")
    f = dataset_file(FOLDER, EVENTS_FILE, path)
    raw = read_events(f, nrows)
    events = pd.DataFrame({
        data_contract.TIMESTAMP: timestamps(raw["timestamp"], timestamp_unit),
        data_contract.CUSTOMER_ID: int_ids(raw["visitorid"]),
        data_contract.PRODUCT_ID: int_ids(raw["itemid"]),
        data_contract.EVENT: raw["event"].str.strip().str.lower(),
        data_contract.TRANSACTION_ID: int_ids(raw["transactionid"]),
    })
    signup = first_seen(events, data_contract.CUSTOMER_ID, data_contract.TIMESTAMP)
    customers = pd.DataFrame({data_contract.CUSTOMER_ID: signup.index.astype("str"), data_contract.SIGNUP_DATE: signup.to_numpy()})
    items = pd.Index(events[data_contract.PRODUCT_ID].dropna().unique(), dtype="str").sort_values()
    cats = item_categories(f.parent)
    category = (cats.reindex(items).fillna(UNKNOWN) if cats is not None
                else pd.Series(UNKNOWN, index=items)).astype("str")
    products = pd.DataFrame({data_contract.PRODUCT_ID: items, data_contract.NAME: "item " + items, data_contract.CATEGORY: category.to_numpy()})
    kinds = events[data_contract.EVENT].value_counts().to_dict()
    log.info("retailrocket: %d events (%s), %d visitors, %d items, categories %s", len(events), kinds,
             len(customers), len(products), "from item properties" if cats is not None else "unknown")
    meta = {"source": str(f), "rows_read": len(raw), "dates_known": True, "prices_known": False,
            "timestamp_unit": timestamp_unit}
    return Shop(customers=customers, products=products, transactions=None, events=events, name="retailrocket",
                meta=meta)


def write_events(events: pd.DataFrame, path: str | Path) -> Path:
    """Write contract events in the RetailRocket layout (ms timestamps, integer visitor and item ids).

    Ids are numbered in order of first appearance (the layout has integer ids); purchase events get one
    transaction id per customer and timestamp. Returns the file's path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    visitor = pd.factorize(events[data_contract.CUSTOMER_ID].astype("str"))[0]
    item = pd.factorize(events[data_contract.PRODUCT_ID].astype("str"))[0]
    ms = pd.to_datetime(events[data_contract.TIMESTAMP]).astype("datetime64[ms]").astype("int64")
    buy = (events[data_contract.EVENT].astype("str") == "transaction").to_numpy()
    tid = pd.Series(pd.NA, index=events.index, dtype="Int64")
    if buy.any():
        tid[buy] = pd.factorize(pd.Series(visitor[buy]).astype("str") + "-" + ms[buy].astype("str").to_numpy())[0]
    pd.DataFrame({"timestamp": ms.to_numpy(), "visitorid": visitor, "event": events[data_contract.EVENT].astype("str").to_numpy(),
                  "itemid": item, "transactionid": tid.to_numpy()}).to_csv(path, index=False)
    return path

"""Adapter for the Groceries baskets: the R arules "Groceries" file, or the Kaggle member/date version.

Neither has prices, so ``price`` and ``unit_price`` are a constant 1.0 and every line has quantity 1.
The category is a store department (dairy, pantry, household ...) from a small keyword map.
Item names are stripped of surrounding blanks (the files spell "cream cheese " and "roll products "
with a trailing blank).
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.data.adapters._common import check_options, dataset_file, first_seen
from workbench.data.shop import Shop
from workbench.errors import ConfigError

log = logging.getLogger(__name__)

VARIANTS = {"arules": ("groceries", "groceries.csv"), "kaggle": ("groceries-kaggle", "Groceries_dataset.csv")}
#: constant price of an item (the data has none)
PRICE = 1.0
#: the arules baskets carry no dates: every line gets this fixed, documented placeholder
UNKNOWN_DATE = pd.Timestamp("2000-01-01")
FALLBACK_CATEGORY = "grocery"


#: department -> words of an item name naming it; the first department (in this order) with a match wins
_DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "frozen": ("frozen", "ice cream"),
    "pet": ("cat food", "dog food", "pet care"),
    "alcohol": ("beer", "wine", "liquor", "liqueur", "rum", "whisky", "brandy", "prosecco", "spirits"),
    "pantry": ("canned", "flour", "sugar", "salt", "oil", "vinegar", "rice", "pasta", "spices", "sauces",
               "ketchup", "mustard", "mayonnaise", "jam", "honey", "spreads", "soups", "cereals", "powder",
               "dressing", "pickled", "potato products", "instant food", "specialty fat", "sweetener",
               "preservation", "herbs", "syrup"),
    "beverages": ("juice", "water", "soda", "coffee", "tea", "cocoa", "beverages", "drinks"),
    "dairy": ("milk", "cheese", "yogurt", "cream", "butter", "curd", "margarine", "eggs", "dessert"),
    "meat & fish": ("beef", "pork", "chicken", "meat", "sausage", "frankfurter", "ham", "turkey", "fish",
                    "liver loaf"),
    "fruit & vegetables": ("fruit", "fruits", "vegetables", "vegetable", "berries", "grapes", "onions",
                           "nuts/prunes"),
    "bakery": ("bread", "rolls/buns", "pastry", "zwieback", "cake", "waffles", "bakery", "roll products"),
    "snacks & sweets": ("chocolate", "candy", "snack", "chewing gum", "popcorn", "specialty bar", "tidbits",
                        "marshmallow"),
    "household": ("cleaner", "detergent", "softener", "napkins", "towels", "bags", "cling film", "dishes",
                  "cookware", "utensil", "light bulbs", "candles", "decalcifier", "house keeping",
                  "newspapers", "plants", "flower", "photo/film", "storage medium"),
    "personal care": ("cosmetics", "care", "soap", "hair", "hygiene", "sanitary", "make up", "baby",
                      "rubbing alcohol"),
}


def category(items: pd.Series) -> pd.Series:
    """Return a department per item name (first keyword match in ``_DEPARTMENTS`` order), else "grocery"."""
    low = items.str.lower()
    hits = [low.str.contains(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", regex=True).fillna(False)
            for words in _DEPARTMENTS.values()]
    return pd.Series(np.select(hits, list(_DEPARTMENTS), default=FALLBACK_CATEGORY), index=items.index,
                     dtype="str")


def _products(items: pd.Series) -> pd.DataFrame:
    """Return the products table: one row per distinct item name."""
    names = pd.Series(np.sort(items.dropna().unique()), dtype="str")
    return pd.DataFrame({
        contract.PRODUCT_ID: names,
        contract.NAME: names,
        contract.CATEGORY: category(names),
        contract.PRICE: np.full(len(names), PRICE),
        contract.DESCRIPTION: names,
    })


def _lines(transaction_id: pd.Series, customer_id: pd.Series, item: pd.Series, timestamp: pd.Series) -> pd.DataFrame:
    """Return transaction lines of quantity 1 at the constant unit price."""
    n = len(item)
    return pd.DataFrame({
        contract.TRANSACTION_ID: transaction_id.to_numpy(),
        contract.CUSTOMER_ID: customer_id.to_numpy(),
        contract.PRODUCT_ID: item.to_numpy(),
        contract.TIMESTAMP: timestamp.to_numpy(),
        contract.QUANTITY: np.ones(n, dtype="int64"),
        contract.UNIT_PRICE: np.full(n, PRICE),
    })


def _strip(items: pd.Series) -> pd.Series:
    """Return item names without surrounding blanks, logging how many changed."""
    out = items.str.strip()
    changed = int((out != items).fillna(False).sum())
    if changed:
        log.info("groceries: %d item name(s) had surrounding blanks, stripped (%s)", changed,
                 ", ".join(repr(v) for v in items[(out != items).fillna(False)].unique()[:5]))
    return out


def _load_arules(f: Path) -> Shop:
    """Return the arules shop: one basket per line; the basket id doubles as customer id (no customer info)."""
    baskets = pd.Series(f.read_text(encoding="latin-1").splitlines(), dtype="str")
    ids = "B" + pd.Series(np.arange(1, len(baskets) + 1)).astype("str").str.zfill(5)
    exploded = baskets.str.split(",").explode()
    item = _strip(exploded.astype("str")).reset_index(drop=True)
    basket = ids.to_numpy()[exploded.index.to_numpy()]
    basket = pd.Series(basket, dtype="str")
    tx = _lines(basket, basket, item, pd.Series(np.full(len(item), UNKNOWN_DATE)))
    customers = pd.DataFrame({contract.CUSTOMER_ID: ids.astype("str"), contract.SIGNUP_DATE: np.full(len(ids), UNKNOWN_DATE)})
    log.info("groceries(arules): %d baskets, %d lines, %d distinct items; dates unknown (all %s)",
             len(baskets), len(tx), item.nunique(), UNKNOWN_DATE.date())
    meta = {"source": str(f), "variant": "arules", "rows_read": len(tx), "baskets": len(baskets),
            "dates_known": False, "prices_known": False, "customers_known": False}
    return Shop(customers=customers, products=_products(item), transactions=tx, name="groceries_arules",
                meta=meta)


def _load_kaggle(f: Path) -> Shop:
    """Return the Kaggle shop: one line per (member, date, item) row, a basket per member and day."""
    raw = pd.read_csv(f, dtype="str")
    member = raw["Member_number"].str.strip()
    date = pd.to_datetime(raw["Date"], format="%d-%m-%Y", errors="coerce")
    item = _strip(raw["itemDescription"])
    tid = member + "-" + date.dt.strftime("%Y-%m-%d").fillna(raw["Date"])
    tx = _lines(tid, member, item, date)
    signup = first_seen(tx, contract.CUSTOMER_ID, contract.TIMESTAMP)
    customers = pd.DataFrame({contract.CUSTOMER_ID: signup.index.astype("str"), contract.SIGNUP_DATE: signup.to_numpy()})
    log.info("groceries(kaggle): %d lines, %d members, %d baskets, %d distinct items; %d lines repeat an "
             "earlier (member, date, item)", len(tx), len(customers), tid.nunique(), item.nunique(),
             int(tx.duplicated().sum()))
    meta = {"source": str(f), "variant": "kaggle", "rows_read": len(tx), "dates_known": True,
            "prices_known": False, "customers_known": True}
    return Shop(customers=customers, products=_products(item), transactions=tx, name="groceries_kaggle",
                meta=meta)


def load(path: str | Path | None = None, variant: str = "arules", **options) -> Shop:
    """Return the raw Groceries shop: variant "arules" (customer = basket, dates unknown: 2000-01-01) or "kaggle"."""
    check_options("groceries", options)
    if variant not in VARIANTS:
        raise ConfigError(f"groceries: variant={variant!r} is unknown; choose 'arules' or 'kaggle'")
    folder, filename = VARIANTS[variant]
    f = dataset_file(folder, filename, path)
    return _load_arules(f) if variant == "arules" else _load_kaggle(f)

"""Adapter for MovieLens 100K (GroupLens): 943 users, 1,682 movies, 100,000 ratings.

Movies have no price and nobody buys them, so ``price`` and ``unit_price`` are a constant 1.0 and each
rating doubles as a one-unit transaction line; the ratings table carries the actual scores.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.data.adapters._common import check_options, dataset_file, first_seen
from workbench.data.shop import Shop

log = logging.getLogger(__name__)

FOLDER = "ml-100k"
#: md5 of the official u.data (from the data sets' README)
U_DATA_MD5 = "6e47046882bad158b0efbb84cd5cb987"
#: constant price of a movie (the data has none)
PRICE = 1.0
UNKNOWN = "unknown"
OTHER = "other"

#: extra columns kept from the source
OCCUPATION = "occupation"
ZIP_CODE = "zip_code"
GENRES = "genres"
RELEASE_DATE = "release_date"


def _md5(f: Path) -> str:
    """Return the hex md5 of a file."""
    h = hashlib.md5()
    with f.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _genres(folder: str | Path | None) -> list[str]:
    """Return the genre names in u.genre order (their flag columns in u.item)."""
    g = pd.read_csv(dataset_file(FOLDER, "u.genre", folder), sep="|", header=None, names=["genre", "idx"],
                    encoding="latin-1", dtype={"genre": "str"}).dropna()
    return g.sort_values("idx")["genre"].tolist()


def region(zip_codes: pd.Series) -> pd.Series:
    """Return a coarse US region per zip code: "zip" + its first digit ("zip9"), or "other" (non-numeric zips)."""
    first = zip_codes.astype("str").str.strip().str[0]
    return ("zip" + first).where(first.str.isdigit().fillna(False), OTHER)


def load(path: str | Path | None = None, **options) -> Shop:
    """Return the raw MovieLens 100K shop: customers, products (movies), ratings and one-unit transactions."""
    check_options("movielens100k", options)
    data_file = dataset_file(FOLDER, "u.data", path)
    folder = data_file.parent
    digest = _md5(data_file)
    if digest != U_DATA_MD5:
        log.warning("movielens100k: md5 of %s is %s, not the official %s; the file differs from the release",
                    data_file, digest, U_DATA_MD5)

    r = pd.read_csv(data_file, sep="\t", header=None, names=["user", "item", "rating", "unix"],
                    dtype={"user": "str", "item": "str"})
    ts = pd.to_datetime(r["unix"], unit="s")
    ratings = pd.DataFrame({
        contract.CUSTOMER_ID: r["user"].str.strip(),
        contract.PRODUCT_ID: r["item"].str.strip(),
        contract.RATING: r["rating"].astype("float64"),
        contract.TIMESTAMP: ts,
    })
    transactions = pd.DataFrame({
        contract.TRANSACTION_ID: ratings[contract.CUSTOMER_ID] + "-" + r["unix"].astype("str"),
        contract.CUSTOMER_ID: ratings[contract.CUSTOMER_ID],
        contract.PRODUCT_ID: ratings[contract.PRODUCT_ID],
        contract.TIMESTAMP: ts,
        contract.QUANTITY: np.ones(len(r), dtype="int64"),
        contract.UNIT_PRICE: np.full(len(r), PRICE),
    })

    u = pd.read_csv(dataset_file(FOLDER, "u.user", folder), sep="|", header=None,
                    names=["user", "age", "gender", "occupation", "zip"], dtype="str", encoding="latin-1")
    user_ids = u["user"].str.strip()
    signup = first_seen(ratings, contract.CUSTOMER_ID, contract.TIMESTAMP).reindex(user_ids)
    customers = pd.DataFrame({
        contract.CUSTOMER_ID: user_ids,
        contract.SIGNUP_DATE: signup.to_numpy(),
        contract.AGE: pd.to_numeric(u["age"], errors="coerce").astype("Int64"),
        contract.GENDER: u["gender"].str.strip(),
        contract.LOCATION: region(u["zip"]),
        OCCUPATION: u["occupation"].str.strip(),
        ZIP_CODE: u["zip"].str.strip(),
    })

    genres = _genres(folder)
    item_cols = ["item", "title", "release", "video_release", "url", *genres]
    it = pd.read_csv(dataset_file(FOLDER, "u.item", folder), sep="|", header=None, names=item_cols,
                     encoding="latin-1", dtype={"item": "str", "title": "str", "release": "str"})
    flags = it[genres].fillna(0).astype("int64").to_numpy() > 0
    has_genre = flags.any(axis=1)
    first_genre = np.where(has_genre, np.array(genres, dtype=object)[flags.argmax(axis=1)], UNKNOWN)
    joined = pd.Series(flags.astype("int64") @ np.array([g + "|" for g in genres], dtype=object),
                       dtype="str").str.rstrip("|")
    title = it["title"].str.strip()
    products = pd.DataFrame({
        contract.PRODUCT_ID: it["item"].str.strip(),
        contract.NAME: title,
        contract.CATEGORY: first_genre,
        contract.PRICE: np.full(len(it), PRICE),
        contract.DESCRIPTION: (title + " " + joined.str.replace("|", " ", regex=False)).str.strip(),
        GENRES: joined,
        RELEASE_DATE: pd.to_datetime(it["release"], format="%d-%b-%Y", errors="coerce"),
    })
    log.info("movielens100k: %d users, %d movies, %d ratings (u.data md5 %s)",
             len(customers), len(products), len(ratings), "ok" if digest == U_DATA_MD5 else "MISMATCH")
    meta = {"source": str(folder), "u_data_md5": digest, "md5_ok": digest == U_DATA_MD5,
            "dates_known": True, "prices_known": False}
    return Shop(customers=customers, products=products, transactions=transactions, ratings=ratings,
                name="movielens100k", meta=meta)

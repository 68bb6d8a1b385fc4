"""The real-data adapters against the official statistics of the shared data sets (README of the data folder).

Each data set's tests skip, with the reason, when its folder is not there. Online Retail (the big one)
is loaded and validated once per module.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.config import datasets_dir
from workbench.data import contract
from workbench.data.adapters import cdnow, groceries, movielens, online_retail
from workbench.data.sources import load_source
from workbench.data.validate import validate_shop
from workbench.errors import ConfigError, DataSourceError


def need(folder: str) -> Path:
    """Return the shared data set folder, or skip the test when it is absent."""
    p = datasets_dir() / folder
    if not p.exists():
        pytest.skip(f"real data set '{folder}' not found at {p}; set WORKBENCH_DATA to the shared datasets folder")
    return p


def assert_counts_add_up(report) -> None:
    """Every table: accepted + quarantined == read."""
    for t in report.tables.values():
        assert t.rows_accepted + t.rows_quarantined == t.rows_read, t


# ---- Online Retail --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def retail():
    """The raw Online Retail shop, the validated one and the report (loaded once)."""
    need(online_retail.FOLDER)
    raw = online_retail.load()
    shop, report = validate_shop(raw)
    return raw, shop, report


def test_online_retail_official_counts(retail):
    raw, shop, report = retail
    tx = raw.transactions
    assert len(tx) == 541_909
    assert report.tables[contract.TRANSACTIONS].rows_read == 541_909
    assert_counts_add_up(report)
    assert report.tables[contract.TRANSACTIONS].reasons["missing_value:customer_id"] >= 135_080
    assert tx[contract.CUSTOMER_ID].isna().sum() == 135_080  # missing stays missing, not "nan"
    assert tx[contract.TRANSACTION_ID].nunique() == 25_900
    assert tx["country"].nunique() == 38
    assert len(shop.customers) == 4_372
    assert len(shop.products) == 4_070
    # the usual cleaning (ids present, quantity > 0, price > 0, no cancellations) leaves 4,338 customers
    t = shop.transactions
    clean = t[(t[contract.QUANTITY] > 0) & (t[contract.UNIT_PRICE] > 0) & ~t[contract.TRANSACTION_ID].str.startswith("C")]
    assert clean[contract.CUSTOMER_ID].nunique() == 4_338


def test_online_retail_mapping(retail):
    raw, shop, _ = retail
    tx = raw.transactions
    ids = tx[contract.CUSTOMER_ID].dropna()
    assert ids.str.fullmatch(r"\d+").all() and "17850" in set(ids)
    cancelled = tx[contract.TRANSACTION_ID].str.startswith("C")
    assert cancelled.sum() == 9_288
    assert (tx.loc[cancelled, contract.QUANTITY] < 0).all()  # cancellations come through as returns
    assert (shop.transactions[contract.QUANTITY] < 0).sum() > 0
    assert {"country", contract.DESCRIPTION} <= set(tx.columns)
    p = raw.products.set_index(contract.PRODUCT_ID)
    assert p.index.is_unique and (p[contract.PRICE] > 0).all() and p[contract.NAME].notna().all()
    assert not p[contract.NAME].eq("nan").any()
    assert p.loc["85123A", contract.NAME] == "WHITE HANGING HEART T-LIGHT HOLDER"
    assert p.loc["85123A", contract.CATEGORY] == "candle"
    for code in ("POST", "DOT", "M", "D", "C2", "BANK CHARGES", "AMAZONFEE", "CRUK", "S", "B", "PADS"):
        assert p.loc[code, contract.CATEGORY] == "service", code
    assert 15 <= p[contract.CATEGORY].nunique() <= 30
    assert (p[contract.CATEGORY] == "other").mean() < 0.15
    cust = raw.customers.set_index(contract.CUSTOMER_ID)
    assert cust.loc["12347", contract.LOCATION] == "Iceland"
    assert cust.loc["17850", contract.SIGNUP_DATE] == tx.loc[tx[contract.CUSTOMER_ID] == "17850", contract.TIMESTAMP].min()


def test_online_retail_country_filter_is_logged(caplog):
    need(online_retail.FOLDER)
    with caplog.at_level(logging.INFO, logger="workbench.data.adapters.online_retail"):
        raw = online_retail.load(country="United Kingdom")
    assert set(raw.transactions["country"]) == {"United Kingdom"}
    assert len(raw.transactions) == 495_478
    assert "keeps 495478 of 541909 rows" in caplog.text
    with pytest.raises(ConfigError, match="Atlantis"):
        online_retail.load(country="Atlantis")


# ---- MovieLens 100K -------------------------------------------------------------------------------

def test_movielens_official_counts():
    need(movielens.FOLDER)
    raw = movielens.load()
    shop, report = validate_shop(raw)
    assert_counts_add_up(report)
    assert report.rows_quarantined == 0
    assert len(shop.customers) == 943
    assert len(shop.products) == 1_682
    assert len(shop.ratings) == 100_000 and len(shop.transactions) == 100_000
    assert raw.meta["md5_ok"]
    assert shop.ratings[contract.RATING].between(1, 5).all()
    assert shop.ratings[contract.RATING].mean() == pytest.approx(3.52986)
    p = raw.products.set_index(contract.PRODUCT_ID)
    assert p.loc["1", contract.NAME] == "Toy Story (1995)"
    assert p.loc["1", "genres"] == "Animation|Children's|Comedy"
    assert p.loc["1", contract.CATEGORY] == "Animation"
    assert p.loc["1", contract.DESCRIPTION] == "Toy Story (1995) Animation Children's Comedy"
    assert (p[contract.PRICE] == 1.0).all()
    c = raw.customers.set_index(contract.CUSTOMER_ID)
    assert c.loc["1", contract.LOCATION] == "zip8" and c.loc["1", "occupation"] == "technician"
    assert set(c[contract.LOCATION]) <= {f"zip{d}" for d in range(10)} | {"other"}
    first = raw.ratings.groupby(contract.CUSTOMER_ID)[contract.TIMESTAMP].min()
    assert (c[contract.SIGNUP_DATE] == first.reindex(c.index)).all()
    assert raw.transactions[contract.TRANSACTION_ID].iloc[0] == "196-881250949"


def test_movielens_md5_mismatch_warns(tmp_path, caplog):
    src = need(movielens.FOLDER)
    for name in ("u.item", "u.user", "u.genre"):
        (tmp_path / name).symlink_to(src / name)
    lines = (src / "u.data").read_text().splitlines()[:1000]
    (tmp_path / "u.data").write_text("\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING, logger="workbench.data.adapters.movielens"):
        raw = movielens.load(path=tmp_path)
    assert "md5" in caplog.text and not raw.meta["md5_ok"]
    assert len(raw.ratings) == 1000


# ---- CDNOW ----------------------------------------------------------------------------------------

def test_cdnow_master_official_counts():
    need(cdnow.FOLDER)
    raw = cdnow.load()
    tx = raw.transactions
    assert len(tx) == 69_659
    assert tx[contract.CUSTOMER_ID].nunique() == 23_570 and len(raw.customers) == 23_570
    assert tx[contract.QUANTITY].sum() == 167_881
    assert tx["dollars"].sum() == pytest.approx(2_500_315.63, abs=0.005)
    assert (tx[contract.QUANTITY] * tx[contract.UNIT_PRICE]).sum() == pytest.approx(2_500_315.63, abs=0.01)
    assert tx[contract.TIMESTAMP].min() == pd.Timestamp("1997-01-01")
    assert tx[contract.TIMESTAMP].max() == pd.Timestamp("1998-06-30")
    assert tx[contract.TRANSACTION_ID].is_unique
    assert np.isfinite(tx[contract.UNIT_PRICE]).all()
    shop, report = validate_shop(raw)
    assert_counts_add_up(report)
    assert report.tables[contract.TRANSACTIONS].reasons == {"non_positive:unit_price": 80}  # the $0 rows
    assert shop.products[contract.PRODUCT_ID].tolist() == ["CD"]
    assert shop.products[contract.CATEGORY].tolist() == ["music"]


def test_cdnow_sample_uses_sample_ids():
    need(cdnow.FOLDER)
    raw = cdnow.load(file="sample")
    ids = raw.customers[contract.CUSTOMER_ID]
    assert len(ids) == 2_357
    assert set(ids) == {str(i) for i in range(1, 2_358)}
    assert len(raw.transactions) == 6_919
    assert raw.customers.set_index(contract.CUSTOMER_ID).loc["1", "master_id"] == "4"
    _, report = validate_shop(raw)
    assert_counts_add_up(report)
    with pytest.raises(ConfigError, match="master"):
        cdnow.load(file="full")


def test_cdnow_zero_rows_are_flagged_not_nan(tmp_path):
    f = tmp_path / "CDNOW_master.txt"
    f.write_bytes(b" customer_id  date number_of_cds  dollar_value\r\n"
                  b" 00001 19970101  2   20.00\r\n"
                  b" 00001 19970101  2   20.00\r\n"
                  b" 00002 19970102  0   12.00\r\n"
                  b" 00003 19970103  1    0.00\r\n")
    raw = cdnow.load(path=tmp_path)
    tx = raw.transactions
    assert tx[contract.QUANTITY].tolist() == [2, 2, 0, 1]
    assert tx[contract.UNIT_PRICE].tolist() == [10.0, 10.0, 12.0, 0.0]
    assert tx[contract.TRANSACTION_ID].tolist() == ["1-19970101-1", "1-19970101-2", "2-19970102-3", "3-19970103-4"]
    _, report = validate_shop(raw)
    assert report.tables[contract.TRANSACTIONS].reasons == {"zero:quantity": 1, "non_positive:unit_price": 1}


# ---- Groceries ------------------------------------------------------------------------------------

def test_groceries_arules_official_counts():
    need("groceries")
    raw = groceries.load()
    shop, report = validate_shop(raw)
    assert_counts_add_up(report)
    assert report.rows_quarantined == 0
    tx = shop.transactions
    assert tx[contract.TRANSACTION_ID].nunique() == 9_835
    assert tx[contract.PRODUCT_ID].nunique() == 169 and len(shop.products) == 169
    milk = tx.loc[tx[contract.PRODUCT_ID] == "whole milk", contract.TRANSACTION_ID].nunique()
    assert milk == 2_513 and milk / 9_835 == pytest.approx(0.2555, abs=1e-4)
    assert (tx[contract.TRANSACTION_ID] == tx[contract.CUSTOMER_ID]).all()
    assert (tx[contract.TIMESTAMP] == groceries.UNKNOWN_DATE).all()
    assert tx[contract.TRANSACTION_ID].iloc[0] == "B00001"
    assert "cream cheese" in set(shop.products[contract.PRODUCT_ID])  # trailing blank stripped
    cat = raw.products.set_index(contract.PRODUCT_ID)[contract.CATEGORY]
    assert cat["whole milk"] == "dairy" and cat["frozen vegetables"] == "frozen"


def test_groceries_kaggle_official_counts():
    need("groceries-kaggle")
    raw = groceries.load(variant="kaggle")
    assert len(raw.transactions) == 38_765
    shop, report = validate_shop(raw)
    assert_counts_add_up(report)
    assert report.tables[contract.TRANSACTIONS].reasons == {"duplicate_line": 759}
    assert len(shop.customers) == 3_898
    assert shop.transactions[contract.PRODUCT_ID].nunique() == 167
    assert shop.transactions[contract.TRANSACTION_ID].nunique() == 14_963
    assert raw.transactions[contract.TRANSACTION_ID].iloc[0] == "1808-2015-07-21"
    with pytest.raises(ConfigError, match="arules"):
        groceries.load(variant="instacart")


# ---- missing data and options --------------------------------------------------------------------

@pytest.mark.parametrize("source, folder", [("online_retail", "online-retail"), ("movielens100k", "ml-100k"),
                                            ("cdnow", "cdnow"), ("groceries", "groceries")])
def test_missing_data_set_names_the_folder(source, folder, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path))
    with pytest.raises(DataSourceError, match=f"'{folder}'") as err:
        load_source({"source": source})
    assert "WORKBENCH_DATA" in str(err.value)


def test_missing_file_in_existing_folder(tmp_path, monkeypatch):
    (tmp_path / "groceries-kaggle").mkdir()
    monkeypatch.setenv("WORKBENCH_DATA", str(tmp_path))
    with pytest.raises(DataSourceError, match="Groceries_dataset.csv"):
        groceries.load(variant="kaggle")


def test_unknown_option_warns(caplog):
    need("groceries")
    with caplog.at_level(logging.WARNING):
        groceries.load(varaint="kaggle", synthetic={"n_customers": 5})
    assert "varaint" in caplog.text and "synthetic" not in caplog.text

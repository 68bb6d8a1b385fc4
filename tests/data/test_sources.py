import sqlite3

import pandas as pd
import pytest

from workbench.data import contract as C
from workbench.data.load import fingerprint, load_shop
from workbench.data.sources import load_source
from workbench.errors import ConfigError, DataSourceError


def write_folder(shop, folder, fmt):
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in shop.tables().items():
        if fmt == "csv":
            df.to_csv(folder / f"{name}.csv", index=False)
        else:
            df.to_parquet(folder / f"{name}.parquet", index=False)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_folder_sources_round_trip(small_shop, tmp_path, fmt):
    write_folder(small_shop, tmp_path / "shop", fmt)
    shop, rep = load_shop({"data": {"source": fmt, "path": str(tmp_path / "shop")}})
    assert rep.rows_quarantined == 0
    assert len(shop.transactions) == len(small_shop.transactions)
    assert shop.prices is not None and shop.events is not None
    assert fingerprint(shop) == fingerprint(load_shop({"data": {"source": fmt, "path": str(tmp_path / "shop")}})[0])


def test_csv_with_unseen_layout_and_bad_rows(tmp_path):
    """A folder the project never saw: extra columns, string ids that look numeric, bad rows."""
    d = tmp_path / "other"
    d.mkdir()
    pd.DataFrame({"customer_id": ["007", "8"], "signup_date": ["2024-01-01", "2024-01-02"],
                  "loyalty_card": [True, False]}).to_csv(d / "customers.csv", index=False)
    pd.DataFrame({"product_id": ["01", "02"], "name": ["a", "b"], "category": ["x", "y"],
                  "price": [1.0, 2.0]}).to_csv(d / "products.csv", index=False)
    pd.DataFrame({"transaction_id": ["1", "1", "2", "3"], "customer_id": ["007", "007", "8", "9"],
                  "product_id": ["01", "02", "01", "01"],
                  "timestamp": ["2024-02-01T10:00:00", "2024-02-01T10:00:00", "2024-02-03", "2024-02-04"],
                  "quantity": [1, 1, 2, 1], "unit_price": [1.0, 2.0, 1.0, 1.0]}).to_csv(d / "transactions.csv",
                                                                                       index=False)
    shop, rep = load_shop({"data": {"source": "csv", "path": str(d)}})
    assert shop.customers["loyalty_card"].tolist() == [True, False]  # extra columns kept
    assert shop.customers[C.CUSTOMER_ID].tolist() == ["007", "8"]    # leading zeros kept
    t = rep.tables[C.TRANSACTIONS]
    assert (t.rows_read, t.rows_accepted, t.reasons) == (4, 3, {"orphan:customer_id": 1})


def test_sql_source_sqlite(small_shop, tmp_path):
    db = tmp_path / "shop.sqlite"
    with sqlite3.connect(db) as con:
        for name, df in small_shop.tables().items():
            out = df.copy()
            for c in out.columns:
                if isinstance(out[c].dtype, pd.CategoricalDtype):
                    out[c] = out[c].astype("str")
            out.to_sql(name, con, index=False)
    shop, rep = load_shop({"data": {"source": "sql", "path": str(db)}})
    assert rep.rows_quarantined == 0 and len(shop.transactions) == len(small_shop.transactions)
    q = {"transactions": "SELECT * FROM transactions WHERE quantity > 0"}
    shop2, _ = load_shop({"data": {"source": "sql", "path": str(db), "queries": q}})
    assert (shop2.transactions[C.QUANTITY] > 0).all()


def test_source_errors(tmp_path):
    with pytest.raises(DataSourceError, match="does not exist"):
        load_source({"source": "csv", "path": str(tmp_path / "nope")})
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataSourceError, match="customers.csv"):
        load_source({"source": "csv", "path": str(tmp_path / "empty")})
    with pytest.raises(ConfigError, match="unknown"):
        load_source({"source": "excel"})
    with pytest.raises(ConfigError, match="path"):
        load_source({"source": "csv"})

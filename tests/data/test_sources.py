import sqlite3

import pandas as pd
import pytest

from workbench.data import contract
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
    assert shop.customers[contract.CUSTOMER_ID].tolist() == ["007", "8"]    # leading zeros kept
    t = rep.tables[contract.TRANSACTIONS]
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
    assert (shop2.transactions[contract.QUANTITY] > 0).all()


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


def _tiny_folder(folder, transactions=True, events=True):
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"customer_id": ["c1", "c2"], "signup_date": ["2024-01-01", "2024-01-02"],
                  "location": ["Zürich", "Köln"]}).to_csv(folder / "customers.csv", index=False)
    pd.DataFrame({"product_id": ["p1", "p2"], "name": ["Crème brûlée", "Bag"], "category": ["food", "bags"]}
                 ).to_csv(folder / "products.csv", index=False)
    if transactions:
        pd.DataFrame({"transaction_id": ["t1"], "customer_id": ["c1"], "product_id": ["p1"],
                      "timestamp": ["2024-02-01"], "quantity": [1], "unit_price": [2.5]}
                     ).to_csv(folder / "transactions.csv", index=False)
    if events:
        pd.DataFrame({"timestamp": ["2024-02-01", "2024-02-02"], "customer_id": ["c1", "c2"],
                      "product_id": ["p1", "p2"], "event": ["view", "transaction"]}).to_csv(folder / "events.csv",
                                                                                          index=False)
    return folder


def test_folder_without_transactions_or_prices_is_a_shop_without_money(tmp_path):
    d = _tiny_folder(tmp_path / "clicks", transactions=False)
    shop, rep = load_shop({"data": {"source": "csv", "path": str(d)}})
    assert len(shop.transactions) == 0 and len(shop.events) == 2
    assert shop.products[contract.PRICE].isna().all() and shop.feedback == contract.EVENTS
    assert rep.tables[contract.TRANSACTIONS].rows_read == 0
    d = _tiny_folder(tmp_path / "nothing", transactions=False, events=False)
    with pytest.raises(DataSourceError, match="transactions.csv missing.*events.csv or ratings.csv"):
        load_source({"source": "csv", "path": str(d)})


@pytest.mark.parametrize("encoding, given, works", [
    ("utf-8-sig", None, True),     # a byte-order mark names the encoding
    ("utf-16", None, True),
    ("latin-1", None, False),      # no mark: read as UTF-8, stops naming the file and the byte
    ("latin-1", "latin-1", True),  # data.encoding names it
])
def test_csv_encodings(tmp_path, encoding, given, works):
    d = _tiny_folder(tmp_path / "enc")
    for f in d.glob("*.csv"):
        f.write_bytes(f.read_text(encoding="utf-8").encode(encoding))
    data = {"source": "csv", "path": str(d), **({"encoding": given} if given else {})}
    if works:
        shop, rep = load_shop({"data": data})
        assert shop.customers[contract.LOCATION].astype("str").tolist() == ["Zürich", "Köln"]
        assert shop.customers.columns[0] == contract.CUSTOMER_ID and rep.rows_quarantined == 0
    else:
        # "location" is the third column: the first non-ASCII byte is the "ü" of Zürich on line 2
        first = (d / "customers.csv").read_bytes().index("ü".encode("latin-1"))
        with pytest.raises(DataSourceError, match=rf"customers.csv' is not utf-8 text \(line 2, byte {first}: "
                                                  r"b'\\xfcric'.*data.encoding"):
            load_source(data)


def test_data_drop_turns_the_synthetic_shop_into_a_clickstream():
    params = {"seed": 3, "data": {"source": "synthetic", "synthetic": {"n_customers": 100, "n_products": 120, "n_weeks": 30},
                                  "drop": ["transactions", "prices", "products.price"]}}
    shop, rep = load_shop(params)
    full, _ = load_shop({"seed": 3, "data": {"source": "synthetic",
                                             "synthetic": {"n_customers": 100, "n_products": 120, "n_weeks": 30}}})
    assert len(shop.transactions) == 0 and shop.prices is None and shop.products[contract.PRICE].isna().all()
    assert len(shop.events) == len(full.events) and shop.feedback == contract.EVENTS
    # every sale line of the full shop is a purchase event of the clickstream
    assert (shop.events[contract.EVENT] == "transaction").sum() == (full.transactions[contract.QUANTITY] > 0).sum()
    with pytest.raises(ConfigError, match="names no table"):
        load_shop({"data": {"source": "synthetic", "drop": ["orders"]}})
    with pytest.raises(ConfigError, match="no column 'cost'"):
        load_shop({"data": {"source": "synthetic", "drop": ["products.cost"]}})
    with pytest.raises(ConfigError, match="must be a list"):
        load_shop({"data": {"source": "synthetic", "drop": {"prices": True}}})


def test_sql_source_without_transactions(tmp_path):
    db = tmp_path / "clicks.sqlite"
    with sqlite3.connect(db) as con:
        pd.DataFrame({"customer_id": ["c1", "c2"], "signup_date": ["2024-01-01", "2024-01-02"]}).to_sql(
            "customers", con, index=False)
        pd.DataFrame({"product_id": ["p1"], "name": ["mug"], "category": ["home"]}).to_sql("products", con, index=False)
        pd.DataFrame({"timestamp": ["2024-02-01", "2024-02-02"], "customer_id": ["c1", "c2"], "product_id": ["p1", "p1"],
                      "event": ["view", "addtocart"]}).to_sql("events", con, index=False)
    shop, rep = load_shop({"data": {"source": "sql", "path": str(db)}})
    assert len(shop.transactions) == 0 and len(shop.events) == 2 and shop.feedback == contract.EVENTS
    with sqlite3.connect(db) as con:
        con.execute("DROP TABLE events")
    with pytest.raises(DataSourceError, match="table 'transactions' not found.*events or ratings"):
        load_source({"source": "sql", "path": str(db)})

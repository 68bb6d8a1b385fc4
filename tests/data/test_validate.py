import numpy as np
import pandas as pd
import pytest

from workbench.data import contract as C
from workbench.data.shop import Shop
from workbench.data.validate import validate_shop
from workbench.errors import DataValidationError, WorkbenchError


def tiny_shop(**tx_extra) -> Shop:
    customers = pd.DataFrame({C.CUSTOMER_ID: ["c1", "c2", "c3"],
                              C.SIGNUP_DATE: ["2024-01-01", "2024-02-01", "2024-03-01"]})
    products = pd.DataFrame({C.PRODUCT_ID: ["p1", "p2"], C.NAME: ["mug", "bag"], C.CATEGORY: ["home", "bags"],
                             C.PRICE: [3.5, 10.0]})
    tx = pd.DataFrame({
        C.TRANSACTION_ID: ["t1", "t1", "t2", "t3"],
        C.CUSTOMER_ID: ["c1", "c1", "c2", "c3"],
        C.PRODUCT_ID: ["p1", "p2", "p1", "p2"],
        C.TIMESTAMP: ["2024-03-01 10:00", "2024-03-01 10:00", "2024-03-02 11:00", "2024-03-05 09:30"],
        C.QUANTITY: [1, 2, 1, -1],
        C.UNIT_PRICE: [3.5, 10.0, 3.5, 10.0],
    })
    return Shop(customers, products, tx)


def add_rows(df: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    return pd.concat([df, pd.DataFrame(rows)], ignore_index=True)


def test_clean_shop_passes_and_coerces_dtypes():
    shop, rep = validate_shop(tiny_shop())
    assert rep.rows_quarantined == 0
    assert pd.api.types.is_datetime64_any_dtype(shop.transactions[C.TIMESTAMP])
    assert shop.transactions[C.QUANTITY].dtype == "int64"
    assert isinstance(shop.products[C.CATEGORY].dtype, pd.CategoricalDtype)


@pytest.mark.parametrize("row, reason", [
    ({C.CUSTOMER_ID: "ghost", C.PRODUCT_ID: "p1"}, "orphan:customer_id"),
    ({C.CUSTOMER_ID: "c1", C.PRODUCT_ID: "nope"}, "orphan:product_id"),
    ({C.CUSTOMER_ID: "c1", C.PRODUCT_ID: "p1", C.UNIT_PRICE: 0.0}, "non_positive:unit_price"),
    ({C.CUSTOMER_ID: "c1", C.PRODUCT_ID: "p1", C.UNIT_PRICE: -2.0}, "non_positive:unit_price"),
    ({C.CUSTOMER_ID: "c1", C.PRODUCT_ID: "p1", C.QUANTITY: 0}, "zero:quantity"),
    ({C.CUSTOMER_ID: "c1", C.PRODUCT_ID: "p1", C.QUANTITY: 1.5}, "not_integer:quantity"),
    ({C.CUSTOMER_ID: "c1", C.PRODUCT_ID: "p1", C.TIMESTAMP: "not a date"}, "unparseable_date:timestamp"),
    ({C.CUSTOMER_ID: "c1", C.PRODUCT_ID: "p1", C.TIMESTAMP: "2999-01-01"}, "future_date:timestamp"),
    ({C.CUSTOMER_ID: None, C.PRODUCT_ID: "p1"}, "missing_value:customer_id"),
])
def test_recoverable_problems_go_to_quarantine(row, reason):
    shop = tiny_shop()
    base = {C.TRANSACTION_ID: "tx", C.TIMESTAMP: "2024-04-01", C.QUANTITY: 1, C.UNIT_PRICE: 3.5}
    shop.transactions = add_rows(shop.transactions, [{**base, **row}])
    clean, rep = validate_shop(shop)
    t = rep.tables[C.TRANSACTIONS]
    assert t.reasons == {reason: 1}
    assert t.rows_accepted + t.rows_quarantined == t.rows_read == 5
    q = rep.quarantine[C.TRANSACTIONS]
    assert q["_reason"].tolist() == [reason] and q["_row"].tolist() == [4]
    assert len(clean.transactions) == 4


def test_duplicate_lines_quarantined_keep_first():
    shop = tiny_shop()
    shop.transactions = pd.concat([shop.transactions, shop.transactions.iloc[[0, 0]]], ignore_index=True)
    _, rep = validate_shop(shop)
    assert rep.tables[C.TRANSACTIONS].reasons == {"duplicate_line": 2}
    assert rep.quarantine[C.TRANSACTIONS]["_row"].tolist() == [4, 5]


def test_quarantined_product_cascades_to_orphan_lines():
    shop = tiny_shop()
    shop.products.loc[1, C.PRICE] = 0.0
    clean, rep = validate_shop(shop)
    assert rep.tables[C.PRODUCTS].reasons == {"non_positive:price": 1}
    assert rep.tables[C.TRANSACTIONS].reasons == {"orphan:product_id": 2}
    assert set(clean.transactions[C.PRODUCT_ID]) == {"p1"}


def test_counts_identity_on_messy_random_data(small_shop):
    rng = np.random.default_rng(0)
    tx = small_shop.transactions.copy()
    n = len(tx)
    idx = rng.choice(n, 60, replace=False)
    tx.loc[idx[:15], C.UNIT_PRICE] = 0
    tx.loc[idx[15:30], C.CUSTOMER_ID] = "unknown"
    tx.loc[idx[30:40], C.QUANTITY] = 0
    tx = pd.concat([tx, tx.iloc[idx[40:60]]], ignore_index=True)
    shop = small_shop.replace(transactions=tx)
    clean, rep = validate_shop(shop)
    for t in rep.tables.values():
        assert t.rows_accepted + t.rows_quarantined == t.rows_read
    assert rep.tables[C.TRANSACTIONS].rows_quarantined == 60
    assert len(clean.transactions) + len(rep.quarantine[C.TRANSACTIONS]) == len(tx)


def test_strict_turns_quarantine_into_error():
    shop = tiny_shop()
    shop.transactions.loc[0, C.UNIT_PRICE] = -1
    with pytest.raises(DataValidationError) as err:
        validate_shop(shop, strict=True)
    msg = str(err.value)
    assert "transactions.unit_price" in msg and "non_positive" in msg and "1 row" in msg and "row 0" in msg


def test_missing_column_is_a_clear_error():
    shop = tiny_shop()
    shop.transactions = shop.transactions.drop(columns=[C.UNIT_PRICE])
    with pytest.raises(DataValidationError, match=r"transactions\.unit_price: rule 'required_column'"):
        validate_shop(shop)


def test_empty_table_and_conflicting_ids_are_errors():
    shop = tiny_shop()
    shop.customers = shop.customers.iloc[0:0]
    with pytest.raises(DataValidationError, match="non_empty"):
        validate_shop(shop)
    shop = tiny_shop()
    shop.products = add_rows(shop.products, [{C.PRODUCT_ID: "p1", C.NAME: "other", C.CATEGORY: "x", C.PRICE: 1.0}])
    with pytest.raises(WorkbenchError, match=r"products\.product_id: rule 'unique' broken by 2 row"):
        validate_shop(shop)


def test_exact_duplicate_customer_row_is_quarantined_not_fatal():
    shop = tiny_shop()
    shop.customers = pd.concat([shop.customers, shop.customers.iloc[[1]]], ignore_index=True)
    clean, rep = validate_shop(shop)
    assert rep.tables[C.CUSTOMERS].reasons == {"duplicate_row": 1}
    assert len(clean.customers) == 3


def test_events_with_unknown_type_quarantined():
    shop = tiny_shop()
    shop.events = pd.DataFrame({C.TIMESTAMP: ["2024-03-01", "2024-03-02"], C.CUSTOMER_ID: ["c1", "c2"],
                                C.PRODUCT_ID: ["p1", "p2"], C.EVENT: ["view", "wishlist"]})
    _, rep = validate_shop(shop)
    assert rep.tables[C.EVENTS].reasons == {"invalid_value:event": 1}

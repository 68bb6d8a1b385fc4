import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.data.load import load_shop
from workbench.data.shop import Shop
from workbench.data.validate import Limits, validate_shop
from workbench.errors import ConfigError, DataValidationError, InvalidShopError, WorkbenchError


def tiny_shop(**tx_extra) -> Shop:
    customers = pd.DataFrame({contract.CUSTOMER_ID: ["c1", "c2", "c3"],
                              contract.SIGNUP_DATE: ["2024-01-01", "2024-02-01", "2024-03-01"]})
    products = pd.DataFrame({contract.PRODUCT_ID: ["p1", "p2"], contract.NAME: ["mug", "bag"], contract.CATEGORY: ["home", "bags"],
                             contract.PRICE: [3.5, 10.0]})
    tx = pd.DataFrame({
        contract.TRANSACTION_ID: ["t1", "t1", "t2", "t3"],
        contract.CUSTOMER_ID: ["c1", "c1", "c2", "c3"],
        contract.PRODUCT_ID: ["p1", "p2", "p1", "p2"],
        contract.TIMESTAMP: ["2024-03-01 10:00", "2024-03-01 10:00", "2024-03-02 11:00", "2024-03-05 09:30"],
        contract.QUANTITY: [1, 2, 1, -1],
        contract.UNIT_PRICE: [3.5, 10.0, 3.5, 10.0],
    })
    return Shop(customers, products, tx)


def add_rows(df: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    return pd.concat([df, pd.DataFrame(rows)], ignore_index=True)


def test_clean_shop_passes_and_coerces_dtypes():
    shop, rep = validate_shop(tiny_shop())
    assert rep.rows_quarantined == 0
    assert pd.api.types.is_datetime64_any_dtype(shop.transactions[contract.TIMESTAMP])
    assert shop.transactions[contract.QUANTITY].dtype == "int64"
    assert isinstance(shop.products[contract.CATEGORY].dtype, pd.CategoricalDtype)


@pytest.mark.parametrize("row, reason", [
    ({contract.CUSTOMER_ID: "ghost", contract.PRODUCT_ID: "p1"}, "orphan:customer_id"),
    ({contract.CUSTOMER_ID: "c1", contract.PRODUCT_ID: "nope"}, "orphan:product_id"),
    ({contract.CUSTOMER_ID: "c1", contract.PRODUCT_ID: "p1", contract.UNIT_PRICE: 0.0}, "non_positive:unit_price"),
    ({contract.CUSTOMER_ID: "c1", contract.PRODUCT_ID: "p1", contract.UNIT_PRICE: -2.0}, "non_positive:unit_price"),
    ({contract.CUSTOMER_ID: "c1", contract.PRODUCT_ID: "p1", contract.QUANTITY: 0}, "zero:quantity"),
    ({contract.CUSTOMER_ID: "c1", contract.PRODUCT_ID: "p1", contract.QUANTITY: 1.5}, "not_integer:quantity"),
    ({contract.CUSTOMER_ID: "c1", contract.PRODUCT_ID: "p1", contract.TIMESTAMP: "not a date"}, "unparseable_date:timestamp"),
    ({contract.CUSTOMER_ID: "c1", contract.PRODUCT_ID: "p1", contract.TIMESTAMP: "2999-01-01"}, "future_date:timestamp"),
    ({contract.CUSTOMER_ID: None, contract.PRODUCT_ID: "p1"}, "missing_value:customer_id"),
])
def test_recoverable_problems_go_to_quarantine(row, reason):
    shop = tiny_shop()
    base = {contract.TRANSACTION_ID: "tx", contract.TIMESTAMP: "2024-04-01", contract.QUANTITY: 1, contract.UNIT_PRICE: 3.5}
    shop.transactions = add_rows(shop.transactions, [{**base, **row}])
    clean, rep = validate_shop(shop)
    t = rep.tables[contract.TRANSACTIONS]
    assert t.reasons == {reason: 1}
    assert t.rows_accepted + t.rows_quarantined == t.rows_read == 5
    q = rep.quarantine[contract.TRANSACTIONS]
    assert q["_reason"].tolist() == [reason] and q["_row"].tolist() == [4]
    assert len(clean.transactions) == 4


def test_duplicate_lines_quarantined_keep_first():
    shop = tiny_shop()
    shop.transactions = pd.concat([shop.transactions, shop.transactions.iloc[[0, 0]]], ignore_index=True)
    _, rep = validate_shop(shop)
    assert rep.tables[contract.TRANSACTIONS].reasons == {"duplicate_line": 2}
    assert rep.quarantine[contract.TRANSACTIONS]["_row"].tolist() == [4, 5]


def test_quarantined_product_cascades_to_orphan_lines():
    shop = tiny_shop()
    shop.products.loc[1, contract.PRICE] = 0.0
    clean, rep = validate_shop(shop)
    assert rep.tables[contract.PRODUCTS].reasons == {"non_positive:price": 1}
    assert rep.tables[contract.TRANSACTIONS].reasons == {"orphan:product_id": 2}
    assert set(clean.transactions[contract.PRODUCT_ID]) == {"p1"}


def test_counts_identity_on_messy_random_data(small_shop):
    rng = np.random.default_rng(0)
    tx = small_shop.transactions.copy()
    n = len(tx)
    idx = rng.choice(n, 60, replace=False)
    tx.loc[idx[:15], contract.UNIT_PRICE] = 0
    tx.loc[idx[15:30], contract.CUSTOMER_ID] = "unknown"
    tx.loc[idx[30:40], contract.QUANTITY] = 0
    tx = pd.concat([tx, tx.iloc[idx[40:60]]], ignore_index=True)
    shop = small_shop.replace(transactions=tx)
    clean, rep = validate_shop(shop)
    for t in rep.tables.values():
        assert t.rows_accepted + t.rows_quarantined == t.rows_read
    assert rep.tables[contract.TRANSACTIONS].rows_quarantined == 60
    assert len(clean.transactions) + len(rep.quarantine[contract.TRANSACTIONS]) == len(tx)


def test_strict_turns_quarantine_into_error():
    shop = tiny_shop()
    shop.transactions.loc[0, contract.UNIT_PRICE] = -1
    with pytest.raises(DataValidationError) as err:
        validate_shop(shop, strict=True)
    msg = str(err.value)
    assert "transactions.unit_price" in msg and "non_positive" in msg and "1 row" in msg and "row 0" in msg


def test_missing_column_is_a_clear_error():
    shop = tiny_shop()
    shop.transactions = shop.transactions.drop(columns=[contract.UNIT_PRICE])
    with pytest.raises(DataValidationError, match=r"transactions\.unit_price: rule 'required_column'"):
        validate_shop(shop)


def test_empty_table_and_conflicting_ids_are_errors():
    shop = tiny_shop()
    shop.customers = shop.customers.iloc[0:0]
    with pytest.raises(DataValidationError, match="non_empty"):
        validate_shop(shop)
    shop = tiny_shop()
    shop.products = add_rows(shop.products, [{contract.PRODUCT_ID: "p1", contract.NAME: "other", contract.CATEGORY: "x", contract.PRICE: 1.0}])
    with pytest.raises(WorkbenchError, match=r"products\.product_id: rule 'unique' broken by 2 row"):
        validate_shop(shop)


def test_exact_duplicate_customer_row_is_quarantined_not_fatal():
    shop = tiny_shop()
    shop.customers = pd.concat([shop.customers, shop.customers.iloc[[1]]], ignore_index=True)
    clean, rep = validate_shop(shop)
    assert rep.tables[contract.CUSTOMERS].reasons == {"duplicate_row": 1}
    assert len(clean.customers) == 3


def test_events_with_unknown_type_quarantined():
    shop = tiny_shop()
    shop.events = pd.DataFrame({contract.TIMESTAMP: ["2024-03-01", "2024-03-02"], contract.CUSTOMER_ID: ["c1", "c2"],
                                contract.PRODUCT_ID: ["p1", "p2"], contract.EVENT: ["view", "wishlist"]})
    _, rep = validate_shop(shop)
    assert rep.tables[contract.EVENTS].reasons == {"invalid_value:event": 1}


# ---- non-finite values, absurd magnitudes, overflow ----------------------------------------------

def _with_cell(shop: Shop, table: str, column: str, value, row: int = 0) -> Shop:
    df = getattr(shop, table).copy()
    df[column] = df[column].astype(object)
    df.loc[row, column] = value
    setattr(shop, table, df)
    return shop


@pytest.mark.parametrize("table, column, value, reason", [
    (contract.TRANSACTIONS, contract.UNIT_PRICE, "inf", "non_finite:unit_price"),
    (contract.TRANSACTIONS, contract.UNIT_PRICE, float("inf"), "non_finite:unit_price"),
    (contract.TRANSACTIONS, contract.UNIT_PRICE, "-Infinity", "non_finite:unit_price"),
    (contract.TRANSACTIONS, contract.UNIT_PRICE, "nan", "non_finite:unit_price"),
    (contract.TRANSACTIONS, contract.UNIT_PRICE, " NaN ", "non_finite:unit_price"),
    (contract.TRANSACTIONS, contract.UNIT_PRICE, 1e308, "out_of_range:unit_price"),
    (contract.TRANSACTIONS, contract.UNIT_PRICE, 1_000_001.0, "out_of_range:unit_price"),
    (contract.TRANSACTIONS, contract.QUANTITY, "inf", "non_finite:quantity"),
    (contract.TRANSACTIONS, contract.QUANTITY, 1e20, "out_of_range:quantity"),
    (contract.TRANSACTIONS, contract.QUANTITY, 2 ** 63, "out_of_range:quantity"),
    (contract.TRANSACTIONS, contract.QUANTITY, -2_000_000, "out_of_range:quantity"),
    (contract.TRANSACTIONS, contract.TIMESTAMP, "1970-01-01", "before_min_date:timestamp"),
    (contract.CUSTOMERS, contract.SIGNUP_DATE, "1601-01-01", "before_min_date:signup_date"),
    (contract.PRODUCTS, contract.PRICE, "inf", "non_finite:price"),
    (contract.PRODUCTS, contract.PRICE, 5e6, "out_of_range:price"),
])
def test_non_finite_and_absurd_values_are_quarantined(table, column, value, reason):
    clean, rep = validate_shop(_with_cell(tiny_shop(), table, column, value))
    assert rep.tables[table].reasons == {reason: 1}
    q = rep.quarantine[table]
    assert q["_reason"].tolist() == [reason] and q["_row"].tolist() == [0]
    for t in rep.tables.values():
        assert t.rows_accepted + t.rows_quarantined == t.rows_read
    if table == contract.TRANSACTIONS:
        assert np.isfinite(clean.transactions[contract.QUANTITY] * clean.transactions[contract.UNIT_PRICE]).all()


def test_ages_beyond_the_bound_quarantine_the_customer():
    shop = tiny_shop()
    shop.customers[contract.AGE] = [40, "inf", 200]
    clean, rep = validate_shop(shop)
    assert rep.tables[contract.CUSTOMERS].reasons == {"non_finite:age": 1, "out_of_range:age": 1}
    assert clean.customers[contract.AGE].tolist() == [40] and clean.customers[contract.AGE].dtype == "int64"


def test_overflowing_revenue_is_quarantined_when_bounds_are_lifted():
    """1e308 x 1e6 is inf in float64: with the magnitude bounds lifted, the revenue check catches it."""
    shop = _with_cell(_with_cell(tiny_shop(), contract.TRANSACTIONS, contract.UNIT_PRICE, 1e308), contract.TRANSACTIONS, contract.QUANTITY, 10 ** 6)
    lifted = Limits(max_unit_price=np.inf, max_quantity=np.inf)
    with np.errstate(over="ignore"):
        assert np.isinf(np.float64(1e308) * 1e6)
    _, rep = validate_shop(shop, limits=lifted)
    assert rep.tables[contract.TRANSACTIONS].reasons == {"overflow:revenue": 1}
    _, rep = validate_shop(shop)  # default bounds: the price itself is absurd
    assert rep.tables[contract.TRANSACTIONS].reasons == {"out_of_range:unit_price": 1}


def test_limits_from_params_and_through_load(tmp_path):
    assert Limits.from_params({"max_unit_price": 20}).max_unit_price == 20.0
    assert Limits.from_params({"max_quantity": ".inf"}).max_quantity == np.inf
    with pytest.raises(ConfigError, match="max_price"):
        Limits.from_params({"max_price": 5})
    with pytest.raises(ConfigError, match="min_date"):
        Limits.from_params({"min_date": "yesterday-ish"})
    with pytest.raises(ConfigError, match="must be > 0"):
        Limits.from_params({"max_age": -1})
    with pytest.raises(ConfigError, match="must be a mapping"):
        Limits.from_params(5)
    shop = tiny_shop()
    d = tmp_path / "shop"
    d.mkdir()
    for name, df in shop.tables().items():
        df.to_csv(d / f"{name}.csv", index=False)
    _, rep = load_shop({"data": {"source": "csv", "path": str(d), "validation": {"max_unit_price": 5}}})
    # two lines at 10.0 and the 10.0 bag itself (its lines are then orphans too)
    assert rep.tables[contract.PRODUCTS].reasons == {"out_of_range:price": 1}
    assert rep.tables[contract.TRANSACTIONS].reasons == {"out_of_range:unit_price": 2}


def test_mixed_time_zones_parse_to_utc():
    shop = tiny_shop()
    shop.transactions[contract.TIMESTAMP] = ["2024-03-01 10:00+02:00", "2024-03-01 10:00", "2024-03-02T11:00Z", "2024-03-05"]
    clean, rep = validate_shop(shop)
    assert rep.rows_quarantined == 0
    assert clean.transactions[contract.TIMESTAMP].tolist()[:3] == [pd.Timestamp("2024-03-01 08:00"),
                                                           pd.Timestamp("2024-03-01 10:00"),
                                                           pd.Timestamp("2024-03-02 11:00")]


def test_duplicate_column_names_and_reserved_names():
    shop = tiny_shop()
    shop.transactions.columns = [contract.TRANSACTION_ID, contract.CUSTOMER_ID, contract.CUSTOMER_ID, contract.TIMESTAMP, contract.QUANTITY, contract.UNIT_PRICE]
    with pytest.raises(DataValidationError, match=r"transactions\.customer_id: rule 'unique_column_names'"):
        validate_shop(shop)
    shop = tiny_shop()
    shop.transactions["_reason"] = "from the source"
    shop.transactions.loc[0, contract.QUANTITY] = 0
    _, rep = validate_shop(shop)
    q = rep.quarantine[contract.TRANSACTIONS]
    assert q["_reason"].tolist() == ["zero:quantity"] and q["_reason_source"].tolist() == ["from the source"]


# ---- invalid shops stop at load ------------------------------------------------------------------

def test_only_returns_stops_with_the_rule():
    shop = tiny_shop()
    shop.transactions[contract.QUANTITY] = [-1, -1, -2, -1]
    with pytest.raises(InvalidShopError) as err:
        validate_shop(shop)
    e = err.value
    assert (e.table, e.column, e.rule, e.n_rows) == (contract.TRANSACTIONS, contract.QUANTITY, "has_sales", 4)
    assert "transactions.quantity" in str(e) and "transaction t1: quantity -1" in str(e)


def test_a_table_with_no_usable_rows_names_its_column():
    shop = tiny_shop()
    shop.transactions[contract.UNIT_PRICE] = [0.0, -1.0, 0.0, "inf"]
    with pytest.raises(InvalidShopError) as err:
        validate_shop(shop)
    e = err.value
    assert (e.table, e.column, e.rule, e.n_rows) == (contract.TRANSACTIONS, contract.UNIT_PRICE, "non_empty_after_validation", 4)
    assert "non_finite:unit_price: 1" in str(e) and "non_positive:unit_price: 3" in str(e)
    shop = tiny_shop()
    shop.events = pd.DataFrame({contract.TIMESTAMP: ["2024-03-01"], contract.CUSTOMER_ID: ["ghost"], contract.PRODUCT_ID: ["p1"],
                                contract.EVENT: ["view"]})
    with pytest.raises(InvalidShopError, match=r"events\.customer_id: rule 'non_empty_after_validation'"):
        validate_shop(shop)


def test_no_feedback_at_all_is_an_error():
    shop = tiny_shop()
    shop.transactions = None
    with pytest.raises(InvalidShopError, match=r"transactions: rule 'feedback_present'.*events: absent"):
        validate_shop(shop)


# ---- shops without money -------------------------------------------------------------------------

def _events() -> pd.DataFrame:
    return pd.DataFrame({contract.TIMESTAMP: ["2024-03-01", "2024-03-01", "2024-03-02"], contract.CUSTOMER_ID: ["c1", "c1", "c2"],
                         contract.PRODUCT_ID: ["p1", "p1", "p2"], contract.EVENT: ["view", "transaction", "addtocart"]})


@pytest.mark.parametrize("transactions", ["absent", "empty"])
def test_events_only_shop_without_prices(transactions):
    shop = tiny_shop()
    shop.transactions = None if transactions == "absent" else shop.transactions.iloc[0:0]
    shop.products = shop.products.drop(columns=[contract.PRICE])
    shop.events = _events()
    clean, rep = validate_shop(shop)
    assert len(clean.transactions) == 0 and set(clean.transactions.columns) == set(contract.SCHEMAS[contract.TRANSACTIONS].required)
    assert clean.transactions[contract.QUANTITY].dtype == "int64"
    assert (rep.tables[contract.TRANSACTIONS].rows_read, rep.tables[contract.TRANSACTIONS].rows_accepted) == (0, 0)
    assert clean.products[contract.PRICE].isna().all() and clean.products[contract.PRICE].dtype == "float64"
    assert len(clean.events) == 3
    assert not clean.has_sales and clean.feedback == contract.EVENTS


def test_missing_product_prices_are_kept():
    shop = _with_cell(tiny_shop(), contract.PRODUCTS, contract.PRICE, None)
    clean, rep = validate_shop(shop)
    assert rep.rows_quarantined == 0
    assert clean.products[contract.PRICE].isna().tolist() == [True, False]
    assert clean.has_sales and clean.feedback == contract.TRANSACTIONS


def test_empty_optional_table_is_left_out():
    shop = tiny_shop()
    shop.events = _events().iloc[0:0]
    clean, rep = validate_shop(shop)
    assert clean.events is None and contract.EVENTS not in rep.tables

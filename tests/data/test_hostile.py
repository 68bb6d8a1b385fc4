"""Property-based tests: random corruptions of a valid shop never crash loading.

Cells replaced with junk, rows duplicated or removed, columns dropped, renamed or duplicated, ids
re-typed, files re-encoded. Whatever hypothesis draws, loading either stops with a ``WorkbenchError``
or returns a shop whose every table keeps ``accepted + quarantined == read`` and whose accepted rows
obey the contract (finite, bounded, positive prices, non-zero quantities, dates in range).
"""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.data import contract as data_contract
from workbench.data.load import load_shop
from workbench.data.shop import Shop
from workbench.data.synthetic import generate_shop
from workbench.data.validate import Limits, validate_shop
from workbench.errors import WorkbenchError

#: modest and reproducible: a fixed sequence of examples, no example database, no per-example deadline
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

JUNK = st.one_of(
    st.sampled_from(["inf", "-inf", "+Infinity", "nan", "NaN", "", " ", "NULL", "None", "1e308", "-1e308",
                     "0", "-1", "1.5", "1,000", "1970-01-01", "9999-12-31", "2024-02-30", "0001-01-01",
                     "2024-03-01T10:00+05:00", "Zürich", "🛒", "view", "transaction", "C00001", "P00001"]),
    st.text(max_size=6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.none(),
    st.booleans(),
)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]


def base_shop():
    """A small valid shop with every table (40 customers, ~380 lines, 300 events, 200 price rows)."""
    shop = generate_shop({"n_customers": 40, "n_products": 120, "n_weeks": 12, "seed": 3})
    return shop.replace(events=shop.events.iloc[::5].reset_index(drop=True),
                        prices=shop.prices.iloc[::7].reset_index(drop=True))


BASE = None


def base():
    global BASE
    if BASE is None:
        BASE = base_shop()
    return BASE


@st.composite
def corruption(draw, tables: dict[str, list[str]]):
    """One corruption: (kind, table, column, a seeded random for rows and names)."""
    table = draw(st.sampled_from(sorted(tables)))
    column = draw(st.sampled_from(tables[table]))
    kind = draw(st.sampled_from(["cells", "cells", "cells", "whole_column", "duplicate_rows", "drop_column",
                                 "rename_column", "retype_ids", "truncate"]))
    return kind, table, column, draw(st.randoms(use_true_random=False))


def apply(tables: dict[str, pd.DataFrame], kind: str, table: str, column: str, rnd, junk) -> None:
    """Corrupt ``tables[table]`` (the dict's frame is replaced); ``column`` is the one hit, if any."""
    df = tables[table].copy()
    cols = list(df.columns)
    if column not in cols:  # an earlier corruption renamed or dropped it
        column = rnd.choice(cols)
    if kind == "cells" and len(df):
        df[column] = df[column].astype(object)
        for value in junk:
            df.iloc[rnd.randrange(len(df)), cols.index(column)] = value
    elif kind == "whole_column" and junk:
        df[column] = pd.Series([junk[0]] * len(df), index=df.index, dtype=object)
    elif kind == "duplicate_rows" and len(df):
        idx = [rnd.randrange(len(df)) for _ in range(rnd.randint(1, 5))]
        df = pd.concat([df, df.iloc[idx]], ignore_index=True)
    elif kind == "drop_column":
        df = df.drop(columns=[column])
    elif kind == "rename_column":
        new = rnd.choice(cols + ["Customer ID", "price ", "x", ""])  # may clash with another column
        df.columns = [new if c == column else c for c in cols]
    elif kind == "retype_ids":
        id_cols = [c for c in cols if c in (data_contract.CUSTOMER_ID, data_contract.PRODUCT_ID, data_contract.TRANSACTION_ID)]
        if id_cols:
            col = rnd.choice(id_cols)
            digits = pd.to_numeric(df[col].astype("str").str.lstrip("CPTR"), errors="coerce")
            df[col] = digits.astype("float64") if rnd.random() < 0.5 else digits.astype("Int64")
    elif kind == "truncate":
        df = df.iloc[: rnd.choice([0, 1, 2])]
    tables[table] = df


def check_loaded(shop, report, read: dict[str, int]) -> None:
    """The counts identity against the rows fed in, and the contract on every accepted row."""
    limits = Limits()
    for name, t in report.tables.items():
        assert t.rows_accepted + t.rows_quarantined == t.rows_read, t
        assert t.rows_read == read.get(name, 0), (name, t, read)
        assert len(getattr(shop, name)) == t.rows_accepted
        assert len(report.quarantine.get(name, [])) == t.rows_quarantined
        assert sum(t.reasons.values()) == t.rows_quarantined
    for name, df in shop.tables().items():
        schema = data_contract.SCHEMAS[name]
        for col in schema.columns:
            if col.name not in df:
                assert not col.required or (name == data_contract.PRODUCTS and col.name == data_contract.PRICE), (name, col.name)
                continue
            s = df[col.name]
            if col.kind in ("int", "float"):
                v = s.to_numpy(dtype="float64", na_value=np.nan)
                present = ~np.isnan(v)
                assert col.required is False or present.all(), (name, col.name)
                assert np.isfinite(v[present]).all(), (name, col.name)
                if col.bound:
                    assert (np.abs(v[present]) <= getattr(limits, col.bound)).all(), (name, col.name)
                if col.positive:
                    assert (v[present] > 0).all(), (name, col.name)
                if col.nonzero:
                    assert (v[present] != 0).all(), (name, col.name)
            elif col.kind in ("datetime", "date") and col.required:
                assert pd.api.types.is_datetime64_any_dtype(s) and s.notna().all(), (name, col.name)
                assert (s >= pd.Timestamp(limits.min_date)).all(), (name, col.name)
            elif col.kind == "id" and col.required:
                assert s.notna().all() and (s.astype("str").str.len() > 0).all(), (name, col.name)
    tx = shop.transactions
    if len(tx):
        assert shop.has_sales
        rev = tx[data_contract.QUANTITY].to_numpy(dtype="float64") * tx[data_contract.UNIT_PRICE].to_numpy(dtype="float64")
        assert np.isfinite(rev).all()


def corrupted(data) -> dict[str, pd.DataFrame]:
    shop = base()
    tables = {n: df.copy() for n, df in shop.tables().items()}
    columns = {n: [c.name for c in data_contract.SCHEMAS[n].columns if c.name in df] for n, df in tables.items()}
    for kind, table, column, rnd in data.draw(st.lists(corruption(columns), min_size=1, max_size=3),
                                              label="corruptions"):
        junk = (data.draw(st.lists(JUNK, min_size=1, max_size=6), label="junk")
                if kind in ("cells", "whole_column") else ())
        apply(tables, kind, table, column, rnd, junk)
    return tables


@settings(max_examples=80, **SETTINGS)
@given(data=st.data())
def test_corrupted_frames_load_or_stop_with_a_workbench_error(data):
    tables = corrupted(data)
    try:
        shop, report = validate_shop(Shop(**{"transactions": None, **tables}), now=pd.Timestamp("2026-01-01"))
    except WorkbenchError:
        return
    check_loaded(shop, report, {n: len(df) for n, df in tables.items()})


@settings(max_examples=25, **SETTINGS)
@given(data=st.data(), encoding=st.sampled_from(ENCODINGS), declared=st.booleans())
def test_corrupted_csv_folders_load_or_stop_with_a_workbench_error(tmp_path_factory, data, encoding, declared):
    tables = corrupted(data)
    folder = tmp_path_factory.mktemp("csv")
    written = {}
    for name, df in tables.items():
        try:
            text = df.to_csv(index=False)
            (folder / f"{name}.csv").write_bytes(text.encode(encoding))
        except (UnicodeEncodeError, ValueError):  # junk the encoding cannot hold: write it as UTF-8
            (folder / f"{name}.csv").write_bytes(text.encode("utf-8"))
        written[name] = len(df)
    block = {"source": "csv", "path": str(folder), **({"encoding": encoding} if declared else {})}
    try:
        shop, report = load_shop({"data": block})
    except WorkbenchError:
        return
    check_loaded(shop, report, written)


@pytest.mark.parametrize("numeric", ["int", "float"])
def test_consistently_retyped_ids_load_the_same_rows(numeric):
    """Ids turned into numbers in every table ("C00007" -> 7) load to the same accepted rows."""
    shop = base()
    _, ref = validate_shop(shop)
    tables = {}
    for name, df in shop.tables().items():
        df = df.copy()
        for col in (data_contract.CUSTOMER_ID, data_contract.PRODUCT_ID, data_contract.TRANSACTION_ID):
            if col in df:
                digits = pd.to_numeric(df[col].astype("str").str.lstrip("CPTR"))
                df[col] = digits.astype("float64" if numeric == "float" else "int64")
        tables[name] = df
    clean, rep = validate_shop(Shop(**tables))
    assert {n: t.rows_accepted for n, t in rep.tables.items()} == {n: t.rows_accepted for n, t in ref.tables.items()}
    assert clean.customers[data_contract.CUSTOMER_ID].iloc[0] == ("1.0" if numeric == "float" else "1")


@settings(max_examples=20, **SETTINGS)
@given(cells=st.lists(st.tuples(st.integers(0, 39), st.integers(0, 4), JUNK), min_size=1, max_size=6),
       encoding=st.sampled_from(ENCODINGS))
def test_corrupted_retailrocket_files_load_or_stop_with_a_workbench_error(tmp_path_factory, cells, encoding):
    """A RetailRocket events.csv with junk cells, in any encoding: a shop or a WorkbenchError."""
    from workbench.data.adapters.retailrocket import COLUMNS, write_events

    folder = tmp_path_factory.mktemp("rr")
    f = write_events(base().events.iloc[:40], folder / "events.csv")
    df = pd.read_csv(f, dtype="str")
    for row, col, value in cells:
        df[COLUMNS[col]] = df[COLUMNS[col]].astype(object)
        df.iloc[row, col] = value
    text = df.to_csv(index=False)
    try:
        f.write_bytes(text.encode(encoding))
    except UnicodeEncodeError:
        f.write_bytes(text.encode("utf-8"))
    try:
        shop, report = load_shop({"data": {"source": "retailrocket", "path": str(f)}})
    except WorkbenchError:
        return
    check_loaded(shop, report, {data_contract.EVENTS: 40, data_contract.CUSTOMERS: report.tables[data_contract.CUSTOMERS].rows_read,
                                data_contract.PRODUCTS: report.tables[data_contract.PRODUCTS].rows_read, data_contract.TRANSACTIONS: 0})

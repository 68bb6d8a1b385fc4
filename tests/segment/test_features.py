"""Clustering features: hand-computed extras on a tiny shop, the analysis-date window and clear errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.segment import features as segment_features
from workbench.segment import rfm


def _tx(rows):
    """Transactions from (invoice, customer, product, timestamp, quantity, unit_price) tuples."""
    df = pd.DataFrame(rows, columns=[contract.TRANSACTION_ID, contract.CUSTOMER_ID, contract.PRODUCT_ID, contract.TIMESTAMP, contract.QUANTITY,
                                     contract.UNIT_PRICE])
    df[contract.TIMESTAMP] = pd.to_datetime(df[contract.TIMESTAMP])
    return df


@pytest.fixture
def tiny():
    tx = _tx([
        ("T1", "A", "P1", "2024-01-01 10:00", 2, 5.0),   # A: purchase days 1, 3, 9 (gaps 2 and 6), 3 invoices
        ("T1", "A", "P2", "2024-01-01 10:00", 1, 10.0),
        ("T2", "A", "P1", "2024-01-03 11:00", 1, 4.0),
        ("T5", "A", "P1", "2024-01-03 18:00", 1, 4.0),   # the same day again: not a new purchase day
        ("T3", "A", "P2", "2024-01-09 09:00", 1, 10.0),
        ("R1", "A", "P2", "2024-01-10 09:00", -1, 10.0),  # a return of 10 out of 38 bought
        ("T4", "B", "P1", "2024-01-05 12:00", 3, 2.0),    # B: one purchase day, no return
        ("T9", "B", "P2", "2024-03-01 12:00", 1, 1.0),    # after the analysis date: ignored
    ])
    products = pd.DataFrame({contract.PRODUCT_ID: ["P1", "P2"], contract.CATEGORY: ["food", "toys"]})
    table = rfm.rfm_table(tx, pd.DataFrame({contract.CUSTOMER_ID: ["A", "B", "C"]}), "2024-01-11")
    return tx, products, table


def test_extras_by_hand(tiny):
    tx, products, table = tiny
    f = segment_features.cluster_features(table, list(segment_features.EXTRA_FEATURES), tx, products)
    assert list(f.index) == ["A", "B"]                             # C never bought: not clustered
    a, b = f.loc["A"], f.loc["B"]
    gaps = np.array([2.0, 6.0])
    assert a[segment_features.REGULARITY] == pytest.approx(gaps.std() / gaps.mean())  # 2 / 4 = 0.5
    assert b[segment_features.REGULARITY] == segment_features.MEMORYLESS_CV                       # fewer than two gaps
    assert a[segment_features.RETURN_SHARE] == pytest.approx(10.0 / 38.0) and b[segment_features.RETURN_SHARE] == 0.0
    assert a[segment_features.BASKET_SIZE] == pytest.approx(np.log1p(5 / 4))      # T1 has 2 lines, T2, T5, T3 one each
    assert b[segment_features.BASKET_SIZE] == pytest.approx(np.log1p(1.0))        # T9 is after the analysis date
    assert a[segment_features.TENURE] == pytest.approx(np.log1p(9))     # whole days from 2024-01-01 10:00 to 2024-01-11
    assert a[segment_features.BASKET_VALUE] == pytest.approx(np.log1p(28.0 / 4))  # net 38 - 10 over 4 invoices
    assert a["cat_food"] == pytest.approx(18.0 / 38.0) and b["cat_toys"] == 0.0


def test_errors_name_what_is_missing(tiny):
    tx, products, table = tiny
    with pytest.raises(ValueError, match="unknown extra feature"):
        segment_features.cluster_features(table, ["age"])
    with pytest.raises(ValueError, match="need the transactions"):
        segment_features.cluster_features(table, ["regularity"])
    with pytest.raises(ValueError, match="needs the products"):
        segment_features.cluster_features(table, ["category_shares"], tx)

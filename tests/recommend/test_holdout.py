"""Tests of workbench/recommend/holdout.py: the chronological hold-out and the evaluation loop."""
from __future__ import annotations

import pandas as pd
import pytest

from workbench.data import contract as C
from workbench.recommend import holdout as H
from workbench.recommend.baselines import MostPopular


def _tx(rows) -> pd.DataFrame:
    return pd.DataFrame({C.TRANSACTION_ID: [f"t{i}" for i in range(len(rows))],
                         C.CUSTOMER_ID: [r[0] for r in rows], C.PRODUCT_ID: [r[1] for r in rows],
                         C.TIMESTAMP: pd.to_datetime([r[2] for r in rows]), C.QUANTITY: [r[3] for r in rows],
                         C.UNIT_PRICE: 1.0})


ROWS = [("u1", "a", "2024-01-01", 1), ("u1", "b", "2024-01-02", 1), ("u2", "a", "2024-01-03", 1),
        ("u3", "c", "2024-01-04", 1), ("u1", "a", "2024-01-05", -1),  # a return: not a sale
        ("u1", "a", "2024-02-01", 1), ("u1", "c", "2024-02-02", 1), ("u2", "b", "2024-02-03", 1),
        ("u9", "a", "2024-02-04", 1)]


def test_holdout_has_no_leak_and_known_customers_only():
    products = pd.DataFrame({C.PRODUCT_ID: ["a", "b", "c", "d"]})
    h = H.chronological_holdout(_tx(ROWS), products, ratio=0.5)
    assert h.cutoff == pd.Timestamp("2024-02-01")
    assert len(h.train) == 4 and len(h.test) == 4
    # u1's repeat of "a" is not relevant again, u9 is unknown in train; d has a column though never sold
    assert h.truth.to_dict("list") == {C.CUSTOMER_ID: ["u1", "u2"], C.PRODUCT_ID: ["c", "b"]}
    assert list(h.interactions.product_ids) == ["a", "b", "c", "d"]
    assert h.summary()["eval_customers"] == 2


def test_no_dates_cannot_split():
    tx = _tx([(c, p, "2000-01-01", 1) for c, p in [("u1", "a"), ("u2", "b")]])
    assert not H.can_split(tx)
    with pytest.raises(ValueError, match="distinct timestamps"):
        H.chronological_holdout(tx)


def test_evaluate_models_rows():
    h = H.chronological_holdout(_tx(ROWS), ratio=0.5)
    table, recs, secs = H.evaluate_models({"popular": MostPopular()}, h, k=2)
    # popularity in train: a (u1, u2) > b, c; u1 saw a, b -> [c]; u2 saw a -> [b, c]: both hit at rank 1
    assert table.loc["popular", "precision@2"] == pytest.approx(0.5)
    assert table.loc["popular", "ndcg@2"] == pytest.approx(1.0)
    assert set(secs["popular"]) == {"fit", "recommend"}
    rows = H.metric_rows(table, k=2)
    assert set(rows["popular"]) == {"precision@2", "recall@2", "map@2", "ndcg@2", "coverage"}

"""Tests of workbench/recommend/holdout.py: notebook 02's protocol for notebooks 03/04 and the evaluation loop."""
from __future__ import annotations

import pandas as pd
import pytest

from workbench.data import contract as C
from workbench.data.shop import Shop
from workbench.recommend import holdout as H
from workbench.recommend.baselines import MostPopular


def _shop(rows) -> Shop:
    tx = pd.DataFrame({C.TRANSACTION_ID: [f"t{i}" for i in range(len(rows))],
                       C.CUSTOMER_ID: [r[0] for r in rows], C.PRODUCT_ID: [r[1] for r in rows],
                       C.TIMESTAMP: pd.to_datetime([r[2] for r in rows]), C.QUANTITY: [r[3] for r in rows],
                       C.UNIT_PRICE: 1.0})
    products = pd.DataFrame({C.PRODUCT_ID: ["a", "b", "c", "d"], C.NAME: list("abcd"), C.CATEGORY: "x",
                             C.PRICE: 1.0})
    customers = pd.DataFrame({C.CUSTOMER_ID: sorted(tx[C.CUSTOMER_ID].unique())})
    return Shop(customers=customers, products=products, transactions=tx)


ROWS = [("u1", "a", "2024-01-01", 1), ("u1", "b", "2024-01-02", 1), ("u2", "a", "2024-01-03", 1),
        ("u3", "c", "2024-01-04", 1), ("u1", "a", "2024-01-05", -1),  # a return: not a sale
        ("u1", "a", "2024-02-01", 1), ("u1", "c", "2024-02-02", 1), ("u2", "b", "2024-02-03", 1),
        ("u9", "a", "2024-02-04", 1)]
CHRONO = {"split": "chronological", "ratio": 0.5}


def test_protocol_holdout_is_notebook_02s_split():
    from workbench.recommend import protocol as P

    shop = _shop(ROWS)
    h = H.protocol_holdout(shop, CHRONO, seed=1)
    train, test = P.split_rows(P.interaction_rows(shop, "purchases"), P.settings(CHRONO), 1)
    assert h.train.equals(train) and h.test.equals(test) and h.transactions.equals(train)
    # u1's repeat of "a" is not relevant again; u9 (unknown in train) is evaluated, as in notebook 02
    assert sorted(zip(h.test[C.CUSTOMER_ID], h.test[C.PRODUCT_ID])) == [("u1", "c"), ("u2", "b"), ("u9", "a")]
    assert list(h.interactions.product_ids) == ["a", "b", "c", "d"]  # "d" was never sold but has a column
    assert h.summary()["cold_customers"] == 1 and h.summary()["eval_customers"] == 3


def test_without_products_drops_training_rows_only():
    h = H.protocol_holdout(_shop(ROWS), CHRONO).without_products(["a"])
    assert "a" not in set(h.train[C.PRODUCT_ID]) and "a" in set(h.test[C.PRODUCT_ID])
    assert h.interactions.matrix[:, 0].nnz == 0 and h.interactions.shape[1] == 4


def test_no_dates_cannot_split():
    shop = _shop([(c, p, "2000-01-01", 1) for c, p in [("u1", "a"), ("u2", "b"), ("u3", "c")]])
    assert not H.can_split(shop.transactions) and H.can_split(shop.transactions, "random")
    with pytest.raises(ValueError, match="distinct timestamps"):
        H.protocol_holdout(shop, CHRONO)


def test_evaluate_models_rows():
    h = H.protocol_holdout(_shop(ROWS), CHRONO)
    table, recs, secs = H.evaluate_models({"popular": MostPopular()}, h, k=2)
    # train popularity: a (u1, u2) > b = c; u1 saw a, b -> [c, d]; u2 saw a -> [b, c]; u9 (cold) -> [a, b]
    assert table.loc["popular", "precision@2"] == pytest.approx(0.5)
    assert table.loc["popular", "ndcg@2"] == pytest.approx(1.0)
    assert set(secs["popular"]) == {"fit", "recommend"}
    assert list(recs["popular"].columns) == [C.CUSTOMER_ID, C.PRODUCT_ID, "rank", "score"]
    rows = H.metric_rows(table)
    assert {"precision@2", "recall@2", "map@2", "ndcg@2", "coverage"} <= set(rows["popular"])

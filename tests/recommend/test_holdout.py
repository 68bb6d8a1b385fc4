"""Tests of workbench/recommend/holdout.py: the run's split for recommenders and the one evaluation loop."""
from __future__ import annotations

import pandas as pd
import pytest

from workbench.data import contract
from workbench.data.shop import Shop
from workbench.errors import StageSkipped
from workbench.recommend import holdout
from workbench.recommend.baselines import MostPopular


def _shop(rows) -> Shop:
    tx = pd.DataFrame({contract.TRANSACTION_ID: [f"t{i}" for i in range(len(rows))],
                       contract.CUSTOMER_ID: [r[0] for r in rows], contract.PRODUCT_ID: [r[1] for r in rows],
                       contract.TIMESTAMP: pd.to_datetime([r[2] for r in rows]), contract.QUANTITY: [r[3] for r in rows],
                       contract.UNIT_PRICE: 1.0})
    products = pd.DataFrame({contract.PRODUCT_ID: ["a", "b", "c", "d"], contract.NAME: list("abcd"), contract.CATEGORY: "x",
                             contract.PRICE: 1.0})
    customers = pd.DataFrame({contract.CUSTOMER_ID: sorted(tx[contract.CUSTOMER_ID].unique())})
    return Shop(customers=customers, products=products, transactions=tx)


ROWS = [("u1", "a", "2024-01-01", 1), ("u1", "b", "2024-01-02", 1), ("u2", "a", "2024-01-03", 1),
        ("u3", "c", "2024-01-04", 1), ("u1", "a", "2024-01-05", -1),  # a return: not a sale
        ("u1", "a", "2024-02-01", 1), ("u1", "c", "2024-02-02", 1), ("u2", "b", "2024-02-03", 1),
        ("u9", "a", "2024-02-04", 1)]
CHRONO = {"evaluation": {"split": "chronological", "ratio": 0.5}, "seed": 1}


def test_run_holdout_is_the_protocols_split():
    h = holdout.run_holdout(_shop(ROWS), CHRONO)
    # 8 sales, cut-off at the 4th: train = the January sales (the return is not a sale)
    assert list(h.train[contract.TRANSACTION_ID]) == ["t0", "t1", "t2", "t3"] and h.transactions.equals(h.train)
    # u1's repeat of "a" is not relevant again; u9 (unknown in train) is evaluated; one row per relevant pair
    assert list(zip(h.test[contract.CUSTOMER_ID], h.test[contract.PRODUCT_ID])) == [("u1", "c"), ("u2", "b"), ("u9", "a")]
    assert list(h.interactions.product_ids) == ["a", "b", "c", "d"]  # "d" was never sold but has a column
    assert h.summary()["cold_customers"] == 1 and h.summary()["eval_customers"] == 3


def test_without_products_drops_training_rows_only():
    h = holdout.run_holdout(_shop(ROWS), CHRONO).without_products(["a"])
    assert "a" not in set(h.train[contract.PRODUCT_ID]) and "a" in set(h.test[contract.PRODUCT_ID])
    assert h.interactions.matrix[:, 0].nnz == 0 and h.interactions.shape[1] == 4


def test_no_dates_cannot_split():
    shop = _shop([(c, p, "2000-01-01", 1) for c, p in [("u1", "a"), ("u2", "b"), ("u3", "c")]])
    with pytest.raises(StageSkipped, match="cannot split these 3 rows.*chronological two distinct times") as err:
        holdout.run_holdout(shop, CHRONO)
    assert err.value.stage == "recommenders"
    with pytest.raises(StageSkipped) as err:
        holdout.run_holdout(shop, CHRONO, stage="hybrid")
    assert err.value.stage == "hybrid"


def test_no_test_customer_skips():
    # everyone's last purchase is a product bought before: no relevant test pair
    shop = _shop([("u1", "a", "2000-01-01", 1), ("u1", "a", "2000-02-01", 1)])
    with pytest.raises(StageSkipped, match="has 0, fewer than 1.*recommenders_min_test_customers"):
        holdout.run_holdout(shop, CHRONO)


def test_evaluate_models_rows():
    h = holdout.run_holdout(_shop(ROWS), {**CHRONO, "evaluation": {**CHRONO["evaluation"], "k": 2}})
    res = holdout.evaluate_models({"popular": MostPopular()}, h)
    table = res.summary
    # train popularity: a (u1, u2) > b = c; u1 saw a, b -> [c, d]; u2 saw a -> [b, c]; u9 (cold) -> [a, b]
    assert table.loc["popular", "precision@2"] == pytest.approx(0.5)
    assert table.loc["popular", "ndcg@2"] == pytest.approx(1.0)
    assert set(res.seconds["popular"]) == {"fit", "recommend"}
    assert list(res.recs["popular"].columns) == [contract.CUSTOMER_ID, contract.PRODUCT_ID, "rank", "score"]
    rows = res.metrics_json()
    assert {"precision@2", "recall@2", "map@2", "ndcg@2", "coverage"} <= set(rows["popular"])

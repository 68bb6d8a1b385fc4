import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.evaluate import taste as TS


def test_recover_taste_matches_numpy_and_leaves_flat_lists_out():
    planted = pd.DataFrame({"a": [0.5, 0.1, 0.2], "b": [0.3, 0.6, 0.3], "c": [0.2, 0.3, 0.5]},
                           index=pd.Index(["x", "y", "z"], name=contract.CUSTOMER_ID))
    recovered = pd.DataFrame({"a": [0.6, 0.0, 1 / 3], "b": [0.4, 0.4, 1 / 3], "c": [0.0, 0.6, 1 / 3]},
                             index=planted.index)
    res = TS.recover_taste(planted, recovered)
    assert res.customers_left_out == 1  # z's list is flat: no correlation defined
    got = res.per_customer.set_index(contract.CUSTOMER_ID)["correlation"]
    for cid in ("x", "y"):
        assert got[cid] == pytest.approx(np.corrcoef(planted.loc[cid], recovered.loc[cid])[0, 1])
    assert res.per_customer.set_index(contract.CUSTOMER_ID)["top_match"].to_dict() == {"x": True, "y": False}


def test_category_shares_count_rows_per_category():
    products = pd.DataFrame({contract.PRODUCT_ID: ["p1", "p2", "p3"], contract.CATEGORY: ["a", "a", "b"]})
    rows = pd.DataFrame({contract.CUSTOMER_ID: ["x", "x", "x", "y"], contract.PRODUCT_ID: ["p1", "p2", "p3", "p3"]})
    s = TS.category_shares(rows, products, ["a", "b", "c"])
    assert s.loc["x"].tolist() == pytest.approx([2 / 3, 1 / 3, 0.0]) and s.loc["y"].tolist() == [0.0, 1.0, 0.0]


def test_planted_taste_shows_in_purchases_not_in_a_list_for_everybody(small_shop):
    """Planted truth: a customer's own purchases follow their planted category affinity; one shop-wide list
    (the best sellers) matches only the shared part of tastes."""
    sales = small_shop.transactions[small_shop.transactions[contract.QUANTITY] > 0]
    top = sales.groupby(contract.PRODUCT_ID).size().nlargest(10).index
    buyers = sales[contract.CUSTOMER_ID].unique()
    same_for_all = pd.DataFrame({contract.CUSTOMER_ID: np.repeat(buyers, len(top)), contract.PRODUCT_ID: np.tile(top, len(buyers))})
    table = TS.taste_recovery({"purchases": sales, "best_sellers": same_for_all}, small_shop.truth["taste"],
                              small_shop.products, n_boot=200)
    assert table.loc["purchases", "correlation"] > 0.5
    assert table.loc["purchases", "correlation_low"] > table.loc["best_sellers", "correlation_high"]
    assert table.loc["purchases", "customers"] == table.loc["best_sellers", "customers"] > 200


def test_to_metrics_keeps_counts_whole():
    table = pd.DataFrame({"correlation": [0.5], "correlation_low": [0.4], "correlation_high": [0.6],
                          "top_category_match": [0.3], "customers": [12.0], "customers_left_out": [1.0]},
                         index=pd.Index(["ease"], name="list"))
    assert TS.to_metrics(table) == {"ease": {"correlation": 0.5, "correlation_low": 0.4, "correlation_high": 0.6,
                                             "top_category_match": 0.3, "customers": 12, "customers_left_out": 1}}

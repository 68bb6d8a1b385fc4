import numpy as np
import pandas as pd
import pytest

from workbench.config import load_params
from workbench.data import contract
from workbench.data.realism import WEB_SHOP_RANGES, _gini, outside_ranges, shop_statistics
from workbench.data.sources import load_source


def _tx(rows):
    return pd.DataFrame(rows, columns=[contract.TRANSACTION_ID, contract.CUSTOMER_ID, contract.PRODUCT_ID, contract.TIMESTAMP, contract.QUANTITY]).assign(
        **{contract.TIMESTAMP: lambda d: pd.to_datetime(d[contract.TIMESTAMP]), contract.UNIT_PRICE: 1.0})


def test_statistics_by_hand():
    # c1: invoices 1 (p1, p2) and 2 (p1, p3): one re-buy (p1); c2: invoice 3 (p1); a return is ignored
    tx = _tx([("1", "c1", "p1", "2024-01-01", 1), ("1", "c1", "p2", "2024-01-01", 2),
              ("2", "c1", "p1", "2024-02-01", 1), ("2", "c1", "p3", "2024-02-01", 1),
              ("3", "c2", "p1", "2024-01-05", 1), ("R1", "c1", "p2", "2024-01-09", -1)])
    products = pd.DataFrame({contract.PRODUCT_ID: ["p1", "p2", "p3"], contract.CATEGORY: ["a", "a", "b"]})
    st = shop_statistics(tx, products)
    assert st["lines_per_invoice"] == pytest.approx(5 / 3)
    assert st["rebuy_line_share"] == pytest.approx(1 / 5)
    assert st["repeat_customer_share"] == pytest.approx(1 / 2)
    # distinct buyers: p1 2, p2 1, p3 1 -> Gini of (1, 1, 2) = (sum |xi - xj|) / (2 n^2 mean) = 4 / (2 * 9 * 4/3)
    assert st["popularity_gini"] == pytest.approx(4 / 24)
    assert np.isnan(st["top_category_share"])  # nobody has 5 lines
    assert _gini(np.ones(7)) == pytest.approx(0.0)


def test_default_shop_inside_web_shop_ranges():
    """The default run's shop (params/default.yaml) looks like a consumer web shop (see WEB_SHOP_RANGES)."""
    params = load_params("default")
    shop = load_source(params["data"], seed=params["seed"])
    st = shop_statistics(shop.transactions, shop.products)
    assert outside_ranges(st) == {}, outside_ranges(st)


def test_no_taste_leaves_the_range():
    """The range test can fail: a shop without favourites re-buys too little and spreads over categories."""
    shop = load_source({"source": "synthetic", "synthetic": {"n_customers": 3000, "favourite_share": 0.0,
                                                             "taste_concentration": 50.0}}, seed=3)
    bad = outside_ranges(shop_statistics(shop.transactions, shop.products))
    assert {"rebuy_line_share", "top_category_share"} <= set(bad)
    assert set(bad) <= set(WEB_SHOP_RANGES)

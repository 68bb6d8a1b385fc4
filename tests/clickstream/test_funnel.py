"""The funnel (workbench/clickstream/funnel.py) and interest (interest.py) on a hand-made clickstream."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.clickstream import funnel
from workbench.clickstream.interest import interest_scores
from workbench.data import contract


def _events(rows):
    return pd.DataFrame(rows, columns=[contract.CUSTOMER_ID, contract.PRODUCT_ID, contract.EVENT, contract.TIMESTAMP]) \
        .assign(**{contract.TIMESTAMP: lambda d: pd.to_datetime(d[contract.TIMESTAMP])})


EVENTS = _events([
    ("a", "p1", "view", "2024-01-01 10:00"), ("a", "p1", "view", "2024-01-01 10:01"),
    ("a", "p1", "addtocart", "2024-01-01 10:02"), ("a", "p1", "transaction", "2024-01-01 10:05"),
    ("a", "p2", "view", "2024-01-01 10:03"),
    ("b", "p1", "view", "2024-01-02 09:00"), ("b", "p1", "addtocart", "2024-01-02 09:01"),
    ("c", "p2", "transaction", "2024-01-03 12:00"),            # a purchase without a logged view
    ("c", "p2", "view", "2024-01-01 12:00"),                   # ... viewed two days earlier
])
PRODUCTS = pd.DataFrame({contract.PRODUCT_ID: ["p1", "p2"], contract.CATEGORY: ["x", "y"]})


@pytest.mark.parametrize("x,n", [(0, 3), (3, 3), (1, 3), (7, 250), (0, 1)])
def test_wilson_interval_matches_scipy(x, n):
    low, high = funnel.wilson_interval([x], [n])
    ref = stats.binomtest(x, n).proportion_ci(method="wilson")
    assert np.allclose([low[0], high[0]], [ref.low, ref.high], atol=1e-12)


def test_funnel_counts_pairs_by_the_furthest_step():
    pairs = funnel.with_category(funnel.funnel_pairs(EVENTS), PRODUCTS)
    # pairs: a-p1 bought, a-p2 viewed, b-p1 carted, c-p2 bought (a purchase counts as viewed and carted)
    overall = funnel.conversion(pairs).iloc[0]
    assert overall[["view", "addtocart", "transaction"]].tolist() == [4, 3, 2]
    assert overall["view_to_cart"] == pytest.approx(3 / 4) and overall["cart_to_purchase"] == pytest.approx(2 / 3)
    by_cat = funnel.conversion(pairs, by=contract.CATEGORY).set_index(contract.CATEGORY)
    assert by_cat.loc["x", "view_to_purchase"] == pytest.approx(1 / 2)
    # a product seen by few visitors gets a wide interval
    assert by_cat.loc["x", "view_to_purchase_high"] - by_cat.loc["x", "view_to_purchase_low"] > 0.5
    assert funnel.dropout(pairs) == {"after_view": 0.25, "after_cart": 0.25, "purchased": 0.5}


def test_time_to_purchase_from_the_first_event_on_the_product():
    t = funnel.time_to_purchase(EVENTS, gap_minutes=30).set_index([contract.CUSTOMER_ID, contract.PRODUCT_ID])
    assert t.loc[("a", "p1"), "hours"] == pytest.approx(5 / 60) and t.loc[("a", "p1"), "same_session"]
    assert t.loc[("c", "p2"), "hours"] == pytest.approx(48) and not t.loc[("c", "p2"), "same_session"]


def test_views_only_funnel_reports_no_purchase_step():
    views = EVENTS[EVENTS[contract.EVENT] == "view"]
    assert not funnel.has_purchases(views)
    pairs = funnel.with_category(funnel.funnel_pairs(views), PRODUCTS)
    out = funnel.funnel_summary(pairs, funnel.conversion(pairs, by=contract.CATEGORY), None)
    assert "view_to_purchase" not in out["overall"] and "transaction" not in out["overall"]
    assert out["overall"]["view_to_cart"] == 0 and "time_to_purchase" not in out
    assert "purchased" not in out["dropout"]


def test_interest_is_the_weighted_event_count():
    weights = {"view": 1.0, "addtocart": 3.0, "transaction": 5.0}
    s = interest_scores(EVENTS, weights, PRODUCTS).set_index(contract.PRODUCT_ID)
    assert s.loc["p1", "interest"] == 3 * 1 + 2 * 3 + 1 * 5  # three views, two carts, one purchase
    assert s.loc["p2", "interest"] == 2 * 1 + 1 * 5 and s.loc["p2", "visitors"] == 2
    assert s["interest_share"].sum() == pytest.approx(1.0)
    assert s.index[0] == "p1" and s.loc["p1", contract.CATEGORY] == "x"

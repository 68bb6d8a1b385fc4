"""The volume-tier test, the tier schedule and the list prices, against planted tiers."""
import numpy as np
import pandas as pd
import pytest

from workbench.pricing import tiers


@pytest.fixture(scope="module")
def tiered_lines(make_tiered_shop):
    return tiers.sales_lines(make_tiered_shop({"a": 0.0, "b": 0.0}, price_moves=False, n_per_category=10, n_weeks=20).transactions)


def test_tier_test_finds_planted_tiers(tiered_lines):
    out = tiers.tier_test(tiered_lines)
    assert out["found"]
    # within a product-day the planted unit price never rises with the quantity
    assert out["share_negative"] == pytest.approx(1.0)


def test_tier_test_one_price_per_day_is_not_tiered():
    lines = pd.DataFrame({"product_id": ["a"] * 4 + ["b"] * 4, "day": pd.to_datetime(["2024-01-01"] * 8).values.astype("datetime64[D]"),
                          "quantity": [1.0, 5, 10, 50] * 2, "unit_price": [2.0] * 4 + [3.0] * 4})
    out = tiers.tier_test(lines)
    assert not out["found"] and out["product_days_tested"] == 0


def test_tier_schedule_recovers_breaks_and_discounts(tiered_lines, planted_tiers):
    sched = tiers.tier_schedule(tiered_lines)
    assert sched["quantity_from"].tolist() == [q for q, _ in planted_tiers]
    # rounding the unit price to cents moves the relative price by less than 1%
    np.testing.assert_allclose(sched["discount"], [1 - f for _, f in planted_tiers], atol=0.01)


def test_list_prices_by_rule():
    # one product-period: two small lines at 10, three bulk lines at 8 (brute force by hand)
    q, p = np.array([1.0, 2, 50, 60, 70]), np.array([10.0, 10, 8, 8, 8])
    zeros = np.zeros(5, dtype=int)
    assert tiers.list_prices(zeros, zeros, q, p, "smallest_quantity")["list_price"].tolist() == [10.0]
    assert tiers.list_prices(zeros, zeros, q, p, "modal")["list_price"].tolist() == [8.0]
    with pytest.raises(ValueError, match="list price rule"):
        tiers.list_prices(zeros, zeros, q, p, "cheapest")

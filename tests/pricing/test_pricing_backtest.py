"""Tests of workbench/pricing/backtest.py: the truth-based revenue, regret and joint demand."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.pricing import backtest as pricing_backtest
from workbench.pricing import table


@pytest.fixture(scope="module")
def aligned(pricing_shop, small_fit):
    return pricing_backtest.truth_rows(pricing_shop.truth, small_fit.test)


def test_truth_rows_align_with_the_table(aligned, small_fit):
    assert aligned.index.equals(small_fit.test.index)
    assert (aligned[contract.PRICE].to_numpy() == small_fit.test[contract.PRICE].to_numpy()).all()
    assert aligned["category_elasticity"].notna().all()


def test_true_units_at_the_current_price_are_the_expected_units(aligned):
    grid = pricing_backtest.true_units_grid(aligned, aligned[contract.PRICE].to_numpy()[:, None] * np.array([[1.0, 1.1]]))
    assert grid[:, 0] == pytest.approx(aligned["expected_units"].to_numpy())
    assert (grid[:, 1] <= grid[:, 0] + 1e-12).all()


def test_joint_units_equal_single_product_units_when_one_price_moves(aligned):
    p = aligned[contract.PRICE].to_numpy().copy()
    assert pricing_backtest.joint_true_units(aligned, p) == pytest.approx(aligned["expected_units"].to_numpy())
    i = int(np.argmax(aligned["expected_units"].to_numpy()))
    p[i] *= 0.8
    from workbench.data.synthetic import true_expected_units

    single = true_expected_units(aligned.iloc[[i]], p[[i]])
    assert pricing_backtest.joint_true_units(aligned, p)[i] == pytest.approx(single[0])
    # moving every price of the shop by the same factor leaves first picks where they were
    cut = pricing_backtest.joint_true_units(aligned, aligned[contract.PRICE].to_numpy() * 0.8)
    assert cut.sum() < true_expected_units(aligned, aligned[contract.PRICE].to_numpy() * 0.8).sum()


def test_regret_summary_by_hand():
    rev = pd.DataFrame({"current_revenue": [10.0, 10.0], "suggested_revenue": [11.0, 10.0],
                        "oracle_revenue": [12.0, 13.0]})
    s = pricing_backtest.regret_summary(rev)
    assert s["revenue_regret_pct"] == pytest.approx(100 * 4 / 25)
    assert s["uplift_pct"] == pytest.approx(5.0) and s["oracle_uplift_pct"] == pytest.approx(25.0)


def test_truth_rows_refuse_other_periods(pricing_shop, small_fit):
    rows = small_fit.test.assign(**{table.PERIOD: small_fit.test[table.PERIOD] + pd.Timedelta(days=3650)})
    with pytest.raises(ValueError, match="truth"):
        pricing_backtest.truth_rows(pricing_shop.truth, rows)

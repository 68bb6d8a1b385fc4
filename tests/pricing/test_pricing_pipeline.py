"""Tests of workbench/pricing/pipeline.py, with the checks against the planted truth of the default shop."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.pricing import pipeline as pricing_pipeline
from workbench.pricing import table


@pytest.fixture(scope="module")
def default_backtest(default_fit, default_shop):
    return pricing_pipeline.backtest(default_fit, default_shop.truth)


def test_elasticities_against_the_planted_truth(default_fit, default_shop):
    comparison, mae = pricing_pipeline.truth_comparison(default_fit, default_shop.truth)
    assert len(comparison) == 8 and comparison["true_category"].notna().all()
    # the naive slope is far off (prices follow demand); the residualised estimates are close
    assert mae["naive"]["category"] > 1.0
    assert mae["fe"]["category"] < 0.3 and mae["dml"]["category"] < 0.35
    assert mae["fe_pooled"]["category"] < 0.2 and mae["used"] == mae["fe_pooled"]
    # within sampling noise: most categories inside 2 standard errors
    z = (comparison["fe"] - comparison["true_category"]) / comparison["fe_se"]
    assert (z.abs() < 2).mean() >= 0.75
    assert mae["product"]["product"] < 0.25


def test_regret_against_the_oracle(default_backtest):
    revenue, summary = default_backtest
    assert 0 <= summary["revenue_regret_pct"] <= 3.0
    assert summary["revenue_suggested"] > summary["revenue_current"]
    assert summary["revenue_oracle"] >= summary["revenue_suggested"] - 1e-6
    assert summary["revenue_oracle"] >= summary["revenue_current"] - 1e-6
    assert {"current_revenue", "suggested_revenue", "oracle_revenue"} <= set(revenue.columns)


def test_suggestions_respect_the_guardrails(default_fit):
    sug = pricing_pipeline.suggest(default_fit)
    g = default_fit.config["guardrails"]
    assert len(sug) == 500 and sug[contract.PRODUCT_ID].is_unique
    assert (sug["change"].abs() <= g["max_change"] + 0.001).all()
    assert (sug["suggested_price"] >= sug["unit_cost"]).all() or sug["binding"].str.startswith("unreachable").any()
    ok = ~sug["binding"].str.startswith("unreachable")
    s = sug[ok]
    assert (s["suggested_price"] >= g["competitor_floor"] * s[contract.COMPETITOR_PRICE] - 0.01).all()
    assert (s["suggested_price"] <= g["competitor_ceiling"] * s[contract.COMPETITOR_PRICE] + 0.01).all()


def test_ab_test_and_metrics(default_fit, default_backtest):
    revenue, summary = default_backtest
    ab = pricing_pipeline.ab_test(default_fit, revenue, seed=42)
    assert ab["true_uplift"] == pytest.approx(summary["uplift_pct"] / 100)
    assert ab["low"] < ab["estimate"] < ab["high"] and 0 <= ab["power"] <= 1
    m = pricing_pipeline.pricing_metrics(default_fit, pricing_pipeline.suggest(default_fit), "trailing popularity", "prices", summary,
                          {"used": {"category": 0.1, "product_mean": 0.2}, "product": {"product": 0.3},
                           "fe": {"category": 0.4, "product_mean": 0.5}}, ab)
    for key in ("demand_mape", "baseline_mape", "elasticity_mae", "revenue_regret_pct", "ab_uplift"):
        assert m[key] is not None
    assert set(m["ab_uplift"]) == {"estimate", "low", "high"} and m["elasticity_mae"] == 0.1
    assert m["revenue_regret_pct"] == summary["revenue_regret_pct"]


def test_metrics_without_truth_are_null(small_fit):
    m = pricing_pipeline.pricing_metrics(small_fit, pricing_pipeline.suggest(small_fit), "trailing popularity", "prices")
    assert m["elasticity_mae"] is None and m["revenue_regret_pct"] is None and m["ab_uplift"] is None


def test_curves_and_revenue_tables(small_fit, pricing_shop):
    curves = pricing_pipeline.demand_curve_table(small_fit, pricing_shop.truth, n_products=3)
    assert curves[contract.PRODUCT_ID].nunique() == 3 and {"true", "model", "elasticity_curve"} <= set(curves.columns)
    one = curves.loc[np.isclose(curves["multiplier"], 1.0)]
    assert one["model"].to_numpy() == pytest.approx(one["elasticity_curve"].to_numpy())
    exp = pricing_pipeline.expected_revenue_test(small_fit)
    by = pricing_pipeline.revenue_by_period(exp)
    assert len(by) == small_fit.config["test_periods"]
    assert by["current_revenue"].sum() == pytest.approx(exp["current_revenue"].sum())


def test_latest_rows_are_each_products_last_period():
    t = pd.DataFrame({contract.PRODUCT_ID: ["a", "a", "b"], table.PERIOD_INDEX: [0, 1, 0]})
    assert pricing_pipeline.latest_rows(t).index.tolist() == [1, 2]


def test_bad_method(pricing_shop, fast_config):
    cfg = {**fast_config, "elasticity": {**fast_config["elasticity"], "method": "magic"}}
    with pytest.raises(ValueError, match="method"):
        pricing_pipeline.fit_pricing(pricing_shop, cfg)


def test_auto_test_periods_take_a_quarter_of_the_history_at_most_13(pricing_shop, fast_config, caplog):
    from workbench.pricing.pipeline import AUTO_TEST_PERIODS, auto_test_periods, fit_pricing

    assert [auto_test_periods(n) for n in (2, 20, 53, 104)] == [1, 5, 13, AUTO_TEST_PERIODS]
    with caplog.at_level("INFO", logger="workbench.pricing.pipeline"):
        fit = fit_pricing(pricing_shop, {**fast_config, "test_periods": "auto"}, seed=7)
    n = int(fit.table["period_index"].max()) + 1
    assert fit.config["test_periods"] == min(n // 4, 13) and fit.test["period_index"].nunique() == fit.config["test_periods"]
    assert f"test_periods not set: {fit.config['test_periods']} of {n} periods" in caplog.text


def _sales_on_one_day(shop, day):
    """The shop with every transaction moved to ``day`` (time of day kept); its weekly price history unchanged."""
    tx = shop.transactions.copy()
    ts = tx[contract.TIMESTAMP]
    tx[contract.TIMESTAMP] = pd.Timestamp(day) + (ts - ts.dt.normalize())
    return shop.replace(transactions=tx)


@pytest.mark.parametrize("where, says", [("busiest", "nothing was sold in them"),
                                         ("last", "periods with sales before the 8 test periods")])
def test_sales_on_one_day_with_a_long_price_history_skip_pricing(pricing_shop, fast_config, where, says):
    """The price history spans a year (enough periods, prices that move), the sales one day: the demand model
    has no sold test period to be scored on (busiest day, mid-year), or nothing before the test periods to learn
    from (the last day); either way pricing says why instead of failing inside the forecast errors."""
    from workbench.errors import StageSkipped

    ts = pricing_shop.transactions[contract.TIMESTAMP]
    day = ts.dt.normalize().value_counts().index[0] if where == "busiest" else ts.max().normalize()
    shop = _sales_on_one_day(pricing_shop, day)
    if where == "busiest":
        assert day < pricing_shop.prices[contract.DATE].max() - pd.Timedelta(weeks=8)  # before the test periods
    with pytest.raises(StageSkipped, match=says) as caught:
        pricing_pipeline.fit_pricing(shop, fast_config, seed=7)
    assert caught.value.stage == "pricing"

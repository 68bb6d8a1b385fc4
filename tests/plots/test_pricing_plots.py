"""Tests of workbench/plots/pricing.py: every figure function returns a Figure on real pipeline output."""
import matplotlib.pyplot as plt
import pytest

from workbench.plots import pricing as pp
from workbench.pricing import pipeline as pricing_pipeline


@pytest.fixture(scope="module")
def fitted(small_shop):
    from workbench.data.validate import validate_shop

    shop = validate_shop(small_shop)[0]
    fit = pricing_pipeline.fit_pricing(shop, {"test_periods": 6, "demand_model": {"n_estimators": 30},
                               "elasticity": {"dml": False, "model_periods": 4}}, seed=7)
    return shop, fit


def test_every_figure(fitted):
    shop, fit = fitted
    comparison, _ = pricing_pipeline.truth_comparison(fit, shop.truth)
    revenue, _ = pricing_pipeline.backtest(fit, shop.truth)
    figs = [pp.demand_curves(pricing_pipeline.demand_curve_table(fit, shop.truth, n_products=2)),
            pp.elasticity_scatter(comparison, labels=pricing_pipeline.METHOD_LABELS),
            pp.price_change_hist(pricing_pipeline.suggest(fit)),
            pp.revenue_over_time(pricing_pipeline.revenue_by_period(revenue)),
            pp.forecast_over_time(fit.forecast)]
    for fig in figs:
        assert isinstance(fig, plt.Figure) and fig.axes
        plt.close(fig)

"""Tests of workbench/plots/pricing.py: every figure function returns a Figure on real pipeline output."""
import matplotlib.pyplot as plt
import pytest

from workbench.plots import pricing as pp
from workbench.pricing import pipeline as P


@pytest.fixture(scope="module")
def fitted(small_shop):
    from workbench.data.validate import validate_shop

    shop = validate_shop(small_shop)[0]
    fit = P.fit_pricing(shop, {"test_periods": 6, "demand_model": {"n_estimators": 30},
                               "elasticity": {"dml": False, "model_periods": 4}}, seed=7)
    return shop, fit


def test_every_figure(fitted):
    shop, fit = fitted
    comparison, _ = P.truth_comparison(fit, shop.truth)
    revenue, _ = P.backtest(fit, shop.truth)
    figs = [pp.demand_curves(P.demand_curve_table(fit, shop.truth, n_products=2)),
            pp.elasticity_scatter(comparison, labels=P.METHOD_LABELS),
            pp.price_change_hist(P.suggest(fit)),
            pp.revenue_over_time(P.revenue_by_period(revenue)),
            pp.forecast_over_time(fit.forecast)]
    for fig in figs:
        assert isinstance(fig, plt.Figure) and fig.axes
        plt.close(fig)

"""Tests of workbench/pricing/demand.py: time split, the monotone LightGBM demand model, baselines, errors."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.errors import NotFittedError
from workbench.pricing import demand as pricing_demand
from workbench.pricing import table


def test_time_split_keeps_the_last_periods_for_test(pricing_shop):
    t = table.build_demand_table(pricing_shop)
    train, test = pricing_demand.time_split(t, 5)
    n = t[table.PERIOD_INDEX].max() + 1
    assert test[table.PERIOD_INDEX].min() == n - 5 and train[table.PERIOD_INDEX].max() == n - 6
    assert len(train) + len(test) == len(t)
    with pytest.raises(ValueError, match="test_periods"):
        pricing_demand.time_split(t, int(n))


def test_wape_and_forecast_errors_by_hand():
    assert pricing_demand.wape([1, 0, 3], [2, 1, 3]) == pytest.approx(2 / 4)
    err = pricing_demand.forecast_errors([1.0, 3.0], {"a": np.array([1.0, 3.0]), "b": np.array([0.0, 0.0])})
    assert err["model"].tolist() == ["a", "b"]
    assert err["mape"].tolist() == pytest.approx([0.0, 1.0])
    assert err["rmse"].iloc[1] == pytest.approx(np.sqrt(5))
    with pytest.raises(ValueError):
        pricing_demand.wape([0, 0], [1, 1])


def test_naive_forecasts_are_last_period_and_moving_average():
    t = pd.DataFrame({table.LAG_UNITS: [np.nan, 2.0, 0.0], table.MA_UNITS: [np.nan, 2.0, 1.0]})
    f = pricing_demand.naive_forecasts(t)
    assert f["last_period"].tolist() == [0.0, 2.0, 0.0] and f["moving_average"].tolist() == [0.0, 2.0, 1.0]


def test_demand_never_rises_with_own_price(small_fit):
    model, rows = small_fit.model, small_fit.test
    assert {f for f, m in model.monotone_constraints_.items() if m == -1} == set(table.OWN_PRICE_FEATURES)
    grid = np.linspace(0.5, 1.5, 11)
    preds = np.column_stack([model.predict_at(rows, rows[contract.PRICE].to_numpy() * g) for g in grid])
    assert (np.diff(preds, axis=1) <= 1e-12).all()
    assert preds[:, 0].sum() > preds[:, -1].sum()  # and it does fall overall


def test_model_predictions_and_importance(small_fit):
    pred = small_fit.model.predict(small_fit.test)
    assert pred.shape == (len(small_fit.test),) and (pred >= 0).all()
    imp = small_fit.model.feature_importance()
    assert set(imp["feature"]) == set(small_fit.model.features_) and imp["gain"].is_monotonic_decreasing


def test_model_objectives_and_errors(pricing_shop):
    t = table.build_demand_table(pricing_shop)
    train, test = pricing_demand.time_split(t, 4)
    m = pricing_demand.DemandModel(objective="log", n_estimators=20).fit(train)
    assert (m.predict(test) >= 0).all()
    with pytest.raises(ValueError, match="objective"):
        pricing_demand.DemandModel(objective="nope").fit(train)
    with pytest.raises(NotFittedError):
        pricing_demand.DemandModel().predict(test)


def test_same_seed_same_predictions(pricing_shop):
    t = table.build_demand_table(pricing_shop)
    train, test = pricing_demand.time_split(t, 4)
    a = pricing_demand.DemandModel(n_estimators=30).fit(train).predict(test)
    b = pricing_demand.DemandModel(n_estimators=30).fit(train).predict(test)
    assert np.array_equal(a, b)


def test_model_beats_naive_baselines_on_the_default_shop(default_fit):
    err = default_fit.errors.set_index("model")["mape"]
    assert err["model"] < err.drop("model").min()


def test_offset_starts_from_the_seasonal_naive_baseline(pricing_shop):
    t = table.build_demand_table(pricing_shop)
    assert (t[table.BASE_UNITS] > 0).all()
    train, test = pricing_demand.time_split(t, 4)
    m = pricing_demand.DemandModel(n_estimators=20, offset=True).fit(train)
    assert m.use_offset_
    p = test[contract.PRICE].to_numpy()
    low, high = m.predict_at(test, p * 0.9), m.predict_at(test, p * 1.1)
    assert (low >= high - 1e-12).all() and (high > 0).all()
    # with no trees the model is the baseline itself
    m0 = pricing_demand.DemandModel(n_estimators=1, learning_rate=1e-9, offset=True).fit(train)
    assert m0.predict(test) == pytest.approx(test[table.BASE_UNITS].to_numpy(), rel=1e-6)

"""Tests of workbench/pricing/abtest.py: assignment, the CUPED estimate, power."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.pricing import abtest as pricing_abtest


def design(n_products=200, n_periods=6, seed=0):
    rng = np.random.default_rng(seed)
    lam = rng.lognormal(0.0, 0.7, n_products)
    price = rng.uniform(5, 50, n_products)
    rows = pd.DataFrame({contract.PRODUCT_ID: np.repeat([f"P{i:03d}" for i in range(n_products)], n_periods),
                         "current_price": np.repeat(price, n_periods), "suggested_price": np.repeat(price, n_periods)})
    units = np.repeat(lam, n_periods)
    pre = pd.Series(lam * price * n_periods * rng.lognormal(0, 0.2, n_products),
                    index=[f"P{i:03d}" for i in range(n_products)])
    return rows, units, pre


def test_assignments():
    rng = np.random.default_rng(0)
    pre = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    paired = pricing_abtest.assign(pre, 50, rng, "paired")
    order = np.argsort(pre, kind="stable")
    assert (paired[:, order[0]] != paired[:, order[1]]).all() and (paired[:, order[2]] != paired[:, order[3]]).all()
    assert not paired[:, order[4]].any()  # the odd one out stays in control
    rand = pricing_abtest.assign(pre, 50, rng, "random")
    assert (rand.sum(axis=1) == 2).all()
    with pytest.raises(ValueError):
        pricing_abtest.assign(pre, 1, rng, "blocked")


def test_no_effect_gives_no_uplift_and_few_false_positives():
    rows, units, pre = design()
    res = pricing_abtest.simulate_ab(rows, units, units, pre, n_sims=300, seed=1)
    assert res["true_uplift"] == 0.0
    assert abs(res["mean_estimate"]) < 0.02
    assert res["power"] <= 0.1  # = the false positive rate here, about alpha
    assert res["low"] < res["estimate"] < res["high"]


def test_a_large_effect_is_found():
    rows, units, pre = design()
    res = pricing_abtest.simulate_ab(rows, units, units * 1.5, pre, n_sims=100, seed=2)
    assert res["true_uplift"] == pytest.approx(0.5)
    assert res["mean_estimate"] == pytest.approx(0.5, abs=0.05)
    assert res["power"] == 1.0 and res["low"] > 0


def test_seeded():
    rows, units, pre = design()
    assert pricing_abtest.simulate_ab(rows, units, units * 1.1, pre, n_sims=20, seed=3) == \
        pricing_abtest.simulate_ab(rows, units, units * 1.1, pre, n_sims=20, seed=3)
    with pytest.raises(ValueError):
        pricing_abtest.simulate_ab(rows.iloc[:6], units[:6], units[:6], pre, n_sims=5)

"""Tests of workbench/pricing/elasticity.py: PPML with fixed effects, the estimators, pooling."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.pricing import elasticity as pricing_elasticity
from workbench.pricing import table


def confounded_panel(beta=-1.5, n_prod=40, n_t=80, seed=0):
    """Poisson demand with product and period effects; the price rises when period demand is high."""
    rng = np.random.default_rng(seed)
    a = rng.normal(1.0, 0.5, n_prod)
    g = np.sin(np.arange(n_t) / 5.0)
    x = 0.3 * g[None, :] + rng.normal(0, 0.1, (n_prod, n_t))  # confounded log price
    mu = np.exp(a[:, None] + g[None, :] + beta * x)
    y = rng.poisson(mu)
    prod = np.repeat(np.arange(n_prod), n_t)
    per = np.tile(np.arange(n_t), n_prod)
    return y.ravel(), x.ravel(), prod, per


def test_ppml_with_fixed_effects_recovers_the_slope():
    y, x, prod, per = confounded_panel()
    res = pricing_elasticity.ppml(y, x, [prod, per])
    assert res.coef[0] == pytest.approx(-1.5, abs=0.1)
    assert 0 < res.se[0] < 0.1
    # without the period effects the confounding biases the slope upwards
    naive = pricing_elasticity.ppml(y, x, [prod])
    assert naive.coef[0] > -1.0


def test_ppml_with_offset_and_dropped_zero_groups():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 0.3, 4000)
    off = rng.normal(1.0, 0.3, 4000)
    y = rng.poisson(np.exp(off - 2.0 * x)).astype(float)
    grp = np.r_[np.zeros(3990, int), np.ones(10, int)]
    y[grp == 1] = 0.0  # a group with no sales carries no information
    res = pricing_elasticity.ppml(y, x, [grp], offset=off)
    assert res.coef[0] == pytest.approx(-2.0, abs=0.1)
    assert res.kept.sum() == 3990


def test_naive_elasticity_by_hand():
    t = pd.DataFrame({contract.CATEGORY: ["a", "a", "b", "b"], contract.PRICE: [1.0, np.e, 1.0, np.e],
                      table.UNITS: [np.e ** 2, np.e, np.e, np.e ** 3], table.IN_STOCK: True})
    got = pricing_elasticity.naive_elasticity(t).set_index(contract.CATEGORY)[pricing_elasticity.ELASTICITY]
    assert got["a"] == pytest.approx(-1.0) and got["b"] == pytest.approx(2.0)


def test_partial_pool_by_hand():
    est, se = np.array([-1.0, -2.0, -3.0]), np.full(3, 0.1)
    out, mu, tau2 = pricing_elasticity.partial_pool(est, se)
    assert mu == pytest.approx(-2.0) and tau2 == pytest.approx(2 / 3 - 0.01)
    assert out == pytest.approx(-2.0 + tau2 / (tau2 + 0.01) * (est + 2.0))
    same, _, tau0 = pricing_elasticity.partial_pool(np.full(4, -1.2), np.full(4, 0.3))
    assert tau0 == 0.0 and same == pytest.approx(np.full(4, -1.2))
    # an unidentified estimate (huge se) takes no part and becomes the pooled mean; NaN stays NaN
    out, mu, _ = pricing_elasticity.partial_pool(np.array([-1.0, -2.0, -3.0, 500.0, np.nan]), np.array([0.1, 0.1, 0.1, 300.0, 0.1]))
    assert out[3] == pytest.approx(mu) and np.isnan(out[4]) and mu == pytest.approx(-2.0)


class _ConstantElasticityModel:
    """A stand-in demand model: units = 5 (price / ref) ** e."""

    def __init__(self, e):
        self.e = e

    def predict_at(self, rows, price):
        return 5.0 * (np.asarray(price) / rows[table.REF_PRICE].to_numpy()) ** self.e


def test_model_elasticity_recovers_a_constant_elasticity(small_fit):
    per_product, per_category = pricing_elasticity.model_elasticity(_ConstantElasticityModel(-1.7), small_fit.table)
    assert per_product[pricing_elasticity.ELASTICITY].to_numpy() == pytest.approx(-1.7)
    assert per_category[pricing_elasticity.ELASTICITY].to_numpy() == pytest.approx(-1.7)


def test_fe_and_dml_estimates_on_the_small_shop(pricing_shop, small_fit):
    fe, fits = pricing_elasticity.fe_elasticity(small_fit.table)
    assert list(fe[contract.CATEGORY]) == sorted(fe[contract.CATEGORY]) and np.isfinite(fe[pricing_elasticity.ELASTICITY]).all()
    assert (fe[pricing_elasticity.SE] > 0).all() and set(fits) == set(fe[contract.CATEGORY])
    dml = pricing_elasticity.dml_elasticity(small_fit.table, n_estimators=30)
    assert list(dml[contract.CATEGORY]) == list(fe[contract.CATEGORY]) and np.isfinite(dml[pricing_elasticity.ELASTICITY]).all()
    with pytest.raises(ValueError, match="time_fe"):
        pricing_elasticity.fe_elasticity(small_fit.table, time_fe="weekly")


def test_product_elasticities_cover_every_product(small_fit):
    cat = pd.DataFrame({contract.CATEGORY: small_fit.elasticities[contract.CATEGORY], pricing_elasticity.ELASTICITY: -1.0})
    _, fits = pricing_elasticity.fe_elasticity(small_fit.table)
    prod = pricing_elasticity.product_elasticities(small_fit.table, cat, fits)
    assert len(prod) == small_fit.table[contract.PRODUCT_ID].nunique()
    assert np.isfinite(prod[pricing_elasticity.ELASTICITY]).all()
    assert prod[pricing_elasticity.ELASTICITY].to_numpy() == pytest.approx(-1.0 + prod["deviation"].to_numpy())

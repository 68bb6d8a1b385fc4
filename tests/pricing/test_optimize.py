"""Tests of workbench/pricing/optimize.py: guardrails and suggestions on hand-made demand curves."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.pricing import optimize as pricing_optimize

MULT = pricing_optimize.price_multipliers(0.10, 0.30, 0.01)


def suggest_one(e, cost=10.0, comp=None, objective="revenue", guard=None, price=100.0):
    rows = pd.DataFrame({contract.PRODUCT_ID: ["P"], contract.PRICE: [price]})
    if comp is not None:
        rows[contract.COMPETITOR_PRICE] = [comp]
    units = pricing_optimize.elasticity_curve([10.0], [e], MULT)
    return pricing_optimize.suggest_prices(rows, units, MULT, [cost], guard or pricing_optimize.Guardrails(), objective).iloc[0]


def test_multipliers_include_the_guardrail_edges_and_one():
    m = pricing_optimize.price_multipliers(0.07, 0.3, 0.05)
    assert {0.93, 1.0, 1.07} <= set(np.round(m, 10)) and m.min() == pytest.approx(0.7)


def test_elastic_demand_lowers_the_price_to_the_max_change():
    s = suggest_one(-2.0)
    assert s["suggested_price"] == pytest.approx(90.0) and s["binding"] == "max_change"
    assert s["expected_units"] == pytest.approx(10 * 0.9 ** -2) and s["expected_revenue"] == pytest.approx(90 * 10 * 0.9 ** -2)
    assert s["current_revenue"] == pytest.approx(1000.0) and s["change"] == pytest.approx(-0.1)


def test_inelastic_demand_raises_the_price():
    s = suggest_one(-0.5)
    assert s["suggested_price"] == pytest.approx(110.0) and s["binding"] == "max_change"


def test_unit_elastic_demand_keeps_the_price():
    s = suggest_one(-1.0)
    assert s["suggested_price"] == pytest.approx(100.0) and s["binding"] == ""


def test_competitor_floor_is_named_when_it_binds_too():
    s = suggest_one(-2.0, comp=95.0)  # floor 0.8 x 95 = 76: the grid optimum 70 breaks it
    assert s["suggested_price"] == pytest.approx(90.0) and s["binding"] == "max_change+competitor_floor"


def test_unreachable_band_moves_towards_it():
    s = suggest_one(-2.0, comp=200.0)  # floor 160 is out of reach within +10%
    assert s["suggested_price"] == pytest.approx(110.0) and s["binding"] == "unreachable:competitor_floor"


def test_min_margin_and_cost():
    s = suggest_one(-2.0, cost=95.0)  # min margin 5% -> price >= 100
    assert s["suggested_price"] == pytest.approx(100.0) and s["binding"] == "max_change+min_margin+below_cost"


def test_margin_objective_finds_the_interior_optimum():
    # margin (p - c) p^e is maximal at p = c e / (1 + e) = 50 * 2 = 100
    s = suggest_one(-2.0, cost=50.0, objective="margin")
    assert s["suggested_price"] == pytest.approx(100.0) and s["binding"] == ""
    s = suggest_one(-2.0, cost=48.0, objective="margin")  # optimum 96 is inside the guardrails
    assert s["suggested_price"] == pytest.approx(96.0) and s["binding"] == ""


def test_observed_price_range_stops_the_move_inside_the_guardrail():
    # constant elasticity -2 under revenue: R ~ m^-1 falls with the price, so the best price is the lowest allowed
    rows = pd.DataFrame({contract.PRODUCT_ID: ["a", "b", "c", "d"], contract.PRICE: 100.0})
    units = pricing_optimize.elasticity_curve([10.0] * 4, [-2.0, -2.0, -2.0, -0.5], MULT)
    # a: seen down to 95.5 -> the lowest 1% step inside is 96; b: never below 100 -> kept; c: seen down to 70 ->
    # the guardrail stops it first (no evidence limit); d (elasticity -0.5 raises) seen up to 104 -> 104
    bounds = np.array([[0.955, 1.2], [1.0, 1.3], [0.7, 1.0], [np.nan, 1.04]])
    out = pricing_optimize.suggest_prices(rows, units, MULT, [1.0] * 4, pricing_optimize.Guardrails(), bounds=bounds)
    assert out["suggested_price"].tolist() == pytest.approx([96.0, 100.0, 90.0, 104.0])
    assert out["evidence_limit"].tolist() == [True, True, False, True]
    # the guardrails still name what stops the unconstrained optimum of the grid
    assert out["binding"].tolist() == ["max_change"] * 4
    free = pricing_optimize.suggest_prices(rows, units, MULT, [1.0] * 4, pricing_optimize.Guardrails())
    assert free["suggested_price"].tolist() == pytest.approx([90.0, 90.0, 90.0, 110.0]) and not free["evidence_limit"].any()
    with pytest.raises(ValueError, match="one \\(low, high\\) pair per row"):
        pricing_optimize.suggest_prices(rows, units, MULT, [1.0] * 4, pricing_optimize.Guardrails(), bounds=bounds[:2])


def test_vectorised_over_rows():
    rows = pd.DataFrame({contract.PRODUCT_ID: ["a", "b", "c"], contract.PRICE: [100.0, 50.0, 20.0]})
    units = pricing_optimize.elasticity_curve([1.0, 2.0, 3.0], [-2.0, -0.5, -1.0], MULT)
    out = pricing_optimize.suggest_prices(rows, units, MULT, [1.0, 1.0, 1.0], pricing_optimize.Guardrails())
    assert out["suggested_price"].tolist() == pytest.approx([90.0, 55.0, 20.0])
    assert out.index.equals(rows.index)


def test_bad_inputs():
    with pytest.raises(ValueError):
        pricing_optimize.Guardrails(max_change=1.5)
    with pytest.raises(ValueError):
        pricing_optimize.Guardrails(competitor_floor=1.3, competitor_ceiling=1.1)
    with pytest.raises(ValueError, match="unknown guardrail"):
        pricing_optimize.Guardrails.from_params({"max_cange": 0.1})
    assert pricing_optimize.Guardrails.from_params({"max_change": 0.05}).max_change == 0.05
    rows = pd.DataFrame({contract.PRODUCT_ID: ["P"], contract.PRICE: [1.0]})
    with pytest.raises(ValueError, match="objective"):
        pricing_optimize.suggest_prices(rows, np.ones((1, len(MULT))), MULT, [0.1], pricing_optimize.Guardrails(), "profit")
    with pytest.raises(ValueError, match="shape"):
        pricing_optimize.suggest_prices(rows, np.ones((1, 3)), MULT, [0.1], pricing_optimize.Guardrails())


def test_unit_costs():
    p = pd.DataFrame({contract.PRODUCT_ID: ["a", "b"], contract.PRICE: [10.0, 20.0]})
    assert pricing_optimize.unit_costs(p, 0.5).tolist() == [5.0, 10.0]
    p[pricing_optimize.UNIT_COST] = [3.0, np.nan]
    assert pricing_optimize.unit_costs(p, 0.5).to_dict() == {"a": 3.0, "b": 10.0}
    with pytest.raises(ValueError):
        pricing_optimize.unit_costs(p, 1.5)

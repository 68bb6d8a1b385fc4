"""Revenue impact under the position-discounted purchase model, A/B simulation, power and sample size."""
import math

import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.evaluate import impact as evaluate_impact


def _recs(rows):
    return pd.DataFrame(rows, columns=[contract.CUSTOMER_ID, contract.PRODUCT_ID, "rank"])


def test_expected_revenue_hand_computed():
    truth = pd.DataFrame({contract.CUSTOMER_ID: ["u1", "u1", "u2", "u3"], contract.PRODUCT_ID: ["a", "c", "b", "z"]})
    recs = _recs([("u1", "a", 1), ("u1", "b", 2), ("u1", "c", 3), ("u2", "a", 1), ("u2", "b", 2)])
    values = pd.Series({"a": 10.0, "b": 4.0, "c": 2.0})
    out = evaluate_impact.expected_revenue(recs, truth, values, p1=0.5, k=10).set_index(contract.CUSTOMER_ID)
    # u1: a at 1 (discount 1) and c at 3 (1/log2 4 = 0.5) are wanted; b is not
    assert out.loc["u1", "expected_purchases"] == pytest.approx(0.5 * (1 + 0.5))
    assert out.loc["u1", "expected_revenue"] == pytest.approx(0.5 * (10 + 0.5 * 2))
    # u2: b at position 2 -> 0.5 / log2(3)
    assert out.loc["u2", "expected_revenue"] == pytest.approx(0.5 / math.log2(3) * 4)
    assert out.loc["u3", "expected_revenue"] == 0.0  # no list: nothing earned
    assert list(out.index) == ["u1", "u2", "u3"]
    # k cuts the list
    out1 = evaluate_impact.expected_revenue(recs, truth, values, p1=0.5, k=1).set_index(contract.CUSTOMER_ID)
    assert out1.loc["u1", "expected_revenue"] == pytest.approx(5.0)
    with pytest.raises(ValueError, match="p1"):
        evaluate_impact.expected_revenue(recs, truth, values, p1=0.0)


def test_purchase_probability_and_item_values():
    ev = pd.DataFrame({contract.CUSTOMER_ID: ["u1", "u1", "u2", "u2", "u1"], contract.PRODUCT_ID: ["a", "b", "a", "a", "a"],
                       contract.EVENT: ["view", "view", "view", "view", "transaction"]})
    p, src = evaluate_impact.purchase_probability(ev)
    assert (p, src) == (pytest.approx(1 / 3), "events")  # of 3 viewed pairs, (u1, a) was bought
    assert evaluate_impact.purchase_probability(None, 0.2) == (0.2, "parameter")
    # views and add-to-carts only (the purchases, if any, are transactions), or no viewed pair bought: the events
    # measure no conversion and the parameter stands in (a share of 0 would make every expected revenue 0)
    carts = ev.assign(**{contract.EVENT: ["view", "view", "addtocart", "view", "addtocart"]})
    assert evaluate_impact.purchase_probability(carts, 0.2) == (0.2, "parameter")
    elsewhere = ev.assign(**{contract.PRODUCT_ID: ["a", "b", "a", "a", "c"]})
    assert evaluate_impact.purchase_probability(elsewhere, 0.2) == (0.2, "parameter")
    tx = pd.DataFrame({contract.PRODUCT_ID: ["a", "a", "b", "b"], contract.QUANTITY: [1, 3, 2, -1],
                       contract.UNIT_PRICE: [2.0, 2.0, 5.0, 5.0]})
    v = evaluate_impact.item_values(tx)
    assert v["a"] == pytest.approx(4.0) and v["b"] == pytest.approx(10.0)  # returns are not sales


def test_power_and_sample_size_match_textbook_values():
    # two proportions 10% vs 12%, alpha 0.05, power 0.8: 3,841 per arm (pooled-variance formula)
    assert evaluate_impact.sample_size_two_proportions(0.10, 0.12) == 3841
    assert evaluate_impact.power_two_proportions(0.10, 0.12, 3841) == pytest.approx(0.8, abs=0.005)
    assert evaluate_impact.power_two_proportions(0.10, 0.12, 100) < 0.2
    assert evaluate_impact.sample_size_two_proportions(0.1, 0.1) == math.inf
    # means: delta = 0.2 sd -> 2 * (1.96 + 0.84)^2 / 0.04 = 393 per arm
    assert evaluate_impact.sample_size_means(0.2, 1.0) == 393
    assert evaluate_impact.power_means(0.2, 1.0, 393) == pytest.approx(0.8, abs=0.005)


def test_simulate_ab_detects_a_much_better_list():
    rng = np.random.default_rng(0)
    n = 2000
    cust = [f"u{i:04d}" for i in range(n)]
    truth = pd.DataFrame({contract.CUSTOMER_ID: cust, contract.PRODUCT_ID: [f"p{i % 50}" for i in range(n)]})
    good = _recs([(c, p, 1) for c, p in zip(truth[contract.CUSTOMER_ID], truth[contract.PRODUCT_ID])])  # the wanted product first
    bad = _recs([(c, f"p{(i + rng.integers(1, 50)) % 50}", 1) if i % 5 else (c, f"p{i % 50}", 1)
                 for i, c in enumerate(cust)])  # right one time in five
    values = pd.Series({f"p{i}": 1.0 + i for i in range(50)})
    ab = evaluate_impact.simulate_ab(bad, good, truth, values, p1=0.3, seed=3, n_boot=300)
    assert ab["n_control"] + ab["n_treatment"] == n
    assert ab["conversion"]["treatment"] > ab["conversion"]["control"]
    assert ab["conversion"]["p_value"] < 0.001 and ab["conversion"]["power"] > 0.9
    assert ab["lift"] > 1.0 and ab["low"] > 0.5           # about 5x the control revenue
    assert ab["lift"] == ab["revenue"]["lift"] and ab["n_needed"] < n
    assert evaluate_impact.simulate_ab(bad, good, truth, values, p1=0.3, seed=3, n_boot=300) == ab  # seeded
    with pytest.raises(ValueError, match="share"):
        evaluate_impact.simulate_ab(bad, good, truth, values, p1=0.3, share=1.0)

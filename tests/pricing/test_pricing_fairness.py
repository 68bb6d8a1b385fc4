"""Fairness: prices are per product and period, never per customer. Permuting customer demographics
(age, gender, location) must not change a single suggestion."""
import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.pricing.pipeline import fit_pricing, suggest


def test_suggestions_do_not_change_when_demographics_are_permuted(pricing_shop, small_fit, fast_config):
    rng = np.random.default_rng(0)
    cust = pricing_shop.customers.copy()
    for col in (contract.AGE, contract.GENDER, contract.LOCATION):
        cust[col] = cust[col].to_numpy()[rng.permutation(len(cust))]
    cust[contract.AGE] = 90 - cust[contract.AGE]  # and change the values themselves
    assert not cust[contract.GENDER].equals(pricing_shop.customers[contract.GENDER])
    permuted = pricing_shop.replace(customers=cust)
    again = fit_pricing(permuted, fast_config, seed=7)
    pd.testing.assert_frame_equal(suggest(again), suggest(small_fit))
    pd.testing.assert_frame_equal(suggest(again, again.test), suggest(small_fit, small_fit.test))

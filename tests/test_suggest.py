"""Settings suggested from the shop's shape by workbench validate: the same numbers the stages derive."""
import numpy as np
import pandas as pd
import yaml

from workbench.data import contract
from workbench.data.validate import validate_shop
from workbench.recommend import basket
from workbench.suggest import suggest_settings, suggestions_yaml


def _with_wide_invoices(shop, n_wide=25, width=40, seed=3):
    rng = np.random.default_rng(seed)
    tx = shop.transactions
    core = rng.choice(tx[contract.PRODUCT_ID].unique(), width, replace=False)
    wide = tx.head(1).drop(columns=[contract.PRODUCT_ID, contract.TRANSACTION_ID]).merge(
        pd.DataFrame({contract.TRANSACTION_ID: [f"W{b}" for b in range(n_wide) for _ in core],
                      contract.PRODUCT_ID: list(core) * n_wide}), how="cross")
    shop.transactions = pd.concat([tx, wide[tx.columns]], ignore_index=True)
    return shop


def test_validate_suggests_the_support_the_budget_allows_and_the_derived_time_spans(small_shop):
    shop, _ = validate_shop(small_shop)
    shop = _with_wide_invoices(shop)
    params = {"basket": {"max_itemsets": 1000}}
    got = {s.key: s for s in suggest_settings(shop, params)}
    m, _, _ = basket.basket_matrix(shop.transactions)
    support, bound = basket.bound_support(m, basket.resolve_min_support(m.shape[0], None, 5), 1000, 3)
    assert got["basket.min_support"].value == round(support, 6) and bound["itemsets_at_requested"] > 1000
    assert f"gives {bound['itemsets_at_requested']:,} itemsets" in got["basket.min_support"].why
    assert got["segmentation.clv.holdout_units"].value == 13  # a quarter of the 52 weeks
    assert got["pricing.test_periods"].value == 13
    snippet = yaml.safe_load(suggestions_yaml(list(got.values())))
    assert snippet["basket"]["min_support"] == round(support, 6)
    assert snippet["segmentation"]["clv"]["holdout_units"] == 13

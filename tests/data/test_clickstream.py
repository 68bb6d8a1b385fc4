"""The clickstream-only shop of params/clickstream.yaml: the default shop's events, without money."""
import numpy as np
import pandas as pd

from workbench.config import load_params
from workbench.data import contract
from workbench.data.load import load_shop
from workbench.data.shop import purchases
from workbench.recommend.interactions import EVENT_WEIGHTS, Interactions


def test_clickstream_params_load_a_shop_without_money():
    params = load_params("clickstream", {"data": {"synthetic": {"n_customers": 200, "n_products": 120}}})
    shop, rep = load_shop(params)
    assert len(shop.transactions) == 0 and rep.tables[contract.TRANSACTIONS].rows_read == 0
    assert shop.prices is None and shop.products[contract.PRICE].isna().all()
    assert not shop.has_sales and shop.feedback == contract.EVENTS
    for t in rep.tables.values():
        assert t.rows_accepted + t.rows_quarantined == t.rows_read

    # the same seed with money (and the same planted visits and bots): every sale line is one purchase event of
    # the same customer and product
    planting = {k: params["data"]["synthetic"][k] for k in ("browsing_sessions", "n_bots")}
    full, _ = load_shop(load_params("default", {"data": {"synthetic": {"n_customers": 200, "n_products": 120,
                                                                       **planting}}}))
    assert len(shop.events) == len(full.events)
    buys = shop.events[shop.events[contract.EVENT] == "transaction"].groupby([contract.CUSTOMER_ID, contract.PRODUCT_ID]).size()
    sales = full.transactions[full.transactions[contract.QUANTITY] > 0].groupby([contract.CUSTOMER_ID, contract.PRODUCT_ID]).size()
    pd.testing.assert_series_equal(buys.sort_index(), sales.sort_index(), check_names=False)
    # purchases() without money: the same lines per customer and day as the full shop's sales
    day = lambda df: df.groupby([contract.CUSTOMER_ID, df[contract.TIMESTAMP].dt.date]).size().sort_index()
    pd.testing.assert_series_equal(day(purchases(shop)), day(purchases(full)), check_names=False)
    assert purchases(shop)[contract.UNIT_PRICE].isna().all()

    # the interactions the recommenders learn from: event weights summed per customer and product
    inter = Interactions.from_shop(shop, products=shop.products[contract.PRODUCT_ID])
    counts = shop.events.groupby(contract.EVENT, observed=True).size()
    expected = sum(EVENT_WEIGHTS[k] * n for k, n in counts.items())
    assert np.isclose(inter.matrix.sum(), expected, rtol=1e-6)
    assert inter.shape == (shop.events[contract.CUSTOMER_ID].nunique(), len(shop.products))

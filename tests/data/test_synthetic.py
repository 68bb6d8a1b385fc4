import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.data.synthetic import generate_shop, true_expected_units
from workbench.data.validate import validate_shop


def test_default_size_and_contract():
    shop = generate_shop()
    assert len(shop.customers) == 1000 and len(shop.products) == 500
    assert len(shop.transactions) >= 8000  # about 3.5 invoices of 2.4 lines per buying customer
    for name, df in shop.tables().items():
        assert set(contract.SCHEMAS[name].required) <= set(df.columns), name
    assert shop.products[contract.CATEGORY].nunique() >= 5
    assert (shop.products[contract.PRICE] > 0).all()
    assert shop.products[contract.DESCRIPTION].str.len().min() > 20


def test_deterministic_byte_for_byte():
    a = generate_shop({"n_customers": 200, "seed": 3})
    b = generate_shop({"n_customers": 200, "seed": 3})
    c = generate_shop({"n_customers": 200, "seed": 4})
    for name in a.tables():
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    for name in a.truth:
        pd.testing.assert_frame_equal(a.truth[name], b.truth[name])
    assert not a.transactions.equals(c.transactions)


def test_synthetic_passes_validation_untouched(small_shop):
    clean, report = validate_shop(small_shop)
    assert report.rows_quarantined == 0
    assert len(clean.transactions) == len(small_shop.transactions)


def test_planted_behaviour_segments():
    shop = generate_shop()
    seg = shop.truth["segments"].set_index(contract.CUSTOMER_ID)["segment"]
    shares = seg.value_counts(normalize=True)
    assert 0.15 < shares["frequent"] < 0.25 and 0.25 < shares["seasonal"] < 0.35 and shares["one_time"] > 0.4
    sales = shop.transactions[shop.transactions[contract.QUANTITY] > 0]
    n_inv = sales.groupby(contract.CUSTOMER_ID)[contract.TRANSACTION_ID].nunique()
    by_seg = n_inv.groupby(seg.reindex(n_inv.index).to_numpy()).agg(["min", "max"])
    assert by_seg.loc["frequent", "min"] >= 5 and by_seg.loc["frequent", "max"] <= 15
    assert by_seg.loc["one_time", "max"] == 1
    assert by_seg.loc["seasonal", "min"] >= 2 and by_seg.loc["seasonal", "max"] <= 5
    browsers = seg[seg == "browser"].index
    assert not sales[contract.CUSTOMER_ID].isin(browsers).any()


def test_seasonal_buyers_buy_around_holidays():
    shop = generate_shop()
    seg = shop.truth["segments"].set_index(contract.CUSTOMER_ID)["segment"]
    tx = shop.transactions[shop.transactions[contract.QUANTITY] > 0]
    month = tx[contract.TIMESTAMP].dt.month
    s = seg.reindex(tx[contract.CUSTOMER_ID]).to_numpy()
    nov_dec_seasonal = (month[s == "seasonal"].isin([11, 12])).mean()
    nov_dec_frequent = (month[s == "frequent"].isin([11, 12])).mean()
    assert nov_dec_seasonal > 2 * nov_dec_frequent


def test_planted_bundles_far_above_chance():
    shop = generate_shop({"n_customers": 3000})
    sales = shop.transactions[shop.transactions[contract.QUANTITY] > 0]
    baskets = sales.groupby(contract.TRANSACTION_ID)[contract.PRODUCT_ID].agg(set)
    n = len(baskets)
    lifts = []
    for a, b in shop.truth["bundles"][["product_a", "product_b"]].itertuples(index=False):  # 20 bundles
        has_a = baskets.map(lambda s: a in s)
        has_b = baskets.map(lambda s: b in s)
        if has_a.sum() >= 5:
            lifts.append((has_a & has_b).sum() * n / max(has_a.sum() * has_b.sum(), 1))
    assert len(lifts) >= 10
    assert np.median(lifts) > 10


@pytest.mark.parametrize("n_products", [24, 30, 36])
def test_small_catalog_plants_the_bundles_it_can_hold_and_says_so(n_products, caplog):
    """Twenty bundles need forty distinct products in two categories each; a smaller catalog plants fewer,
    all of distinct products across categories, and the log says how many."""
    with caplog.at_level("WARNING", logger="workbench.data.synthetic"):
        shop = generate_shop({"n_customers": 200, "n_products": n_products, "n_weeks": 20, "seed": 1})
    bundles = shop.truth["bundles"]
    pairs = bundles[["product_a", "product_b"]].to_numpy().ravel()
    assert 0 < len(bundles) < 20 and len(set(pairs)) == len(pairs)
    category = shop.products.set_index(contract.PRODUCT_ID)[contract.CATEGORY]
    assert (category.loc[bundles["product_a"]].to_numpy() != category.loc[bundles["product_b"]].to_numpy()).all()
    assert f"so {len(bundles)} bundles are planted" in caplog.text


def test_truth_elasticity_and_demand_curve():
    shop = generate_shop()
    truth = shop.truth
    cats = truth["elasticities"].set_index(contract.CATEGORY)["elasticity"]
    assert len(cats) >= 5 and (cats < 0).all()
    pe = truth["product_elasticity"]
    # exact elasticity is the category's, shrunk a little by the product's choice share
    assert (pe["elasticity"] <= 0).all() and (pe["elasticity"] >= pe["category_elasticity"] - 1e-9).all()
    assert np.abs(pe["elasticity"] - pe["category_elasticity"]).median() < 0.15
    d = truth["demand"].merge(pe[[contract.PRODUCT_ID, "category_elasticity"]], on=contract.PRODUCT_ID)
    same = true_expected_units(d, d[contract.PRICE])
    np.testing.assert_allclose(same, d["expected_units"], rtol=1e-9, atol=1e-12)
    up = true_expected_units(d, d[contract.PRICE] * 1.01)
    sel = d["expected_units"] > 0
    emp = np.log(up[sel] / d.loc[sel, "expected_units"]) / np.log(1.01)
    np.testing.assert_allclose(emp, d.loc[sel, "elasticity"], atol=0.01)
    # realised units follow the expected ones
    sales = shop.transactions[shop.transactions[contract.QUANTITY] > 0]
    realised = sales[contract.QUANTITY].sum()
    assert abs(realised / d["expected_units"].sum() - 1) < 0.05


def test_prices_respond_to_season_and_events_match_sales():
    shop = generate_shop()
    p = shop.prices
    assert {contract.COMPETITOR_PRICE, contract.STOCK} <= set(p.columns)
    assert (p[contract.STOCK] == 0).mean() > 0
    ev = shop.events
    assert set(ev[contract.EVENT].astype(str).unique()) == {"view", "addtocart", "transaction"}
    n_sales = (shop.transactions[contract.QUANTITY] > 0).sum()
    assert (ev[contract.EVENT] == "transaction").sum() == n_sales
    # views that never convert exist
    bought = set(zip(shop.transactions[contract.CUSTOMER_ID], shop.transactions[contract.PRODUCT_ID]))
    views = ev[ev[contract.EVENT] == "view"]
    pairs = pd.Series(list(zip(views[contract.CUSTOMER_ID], views[contract.PRODUCT_ID])))
    assert (~pairs.isin(bought)).sum() > 100


def test_rejects_tiny_config():
    with pytest.raises(ValueError):
        generate_shop({"n_customers": 5})


def test_planted_favourites_are_what_customers_rebuy():
    """Planted truth: re-bought products are the customer's favourites, the staple (rank 0) most of all."""
    shop = generate_shop({"n_customers": 2000, "seed": 5, "events": False})
    sales = shop.transactions[shop.transactions[contract.QUANTITY] > 0]
    first = sales.groupby([contract.CUSTOMER_ID, contract.PRODUCT_ID])[contract.TIMESTAMP].transform("min")
    rebuys = sales[sales[contract.TIMESTAMP] > first]
    fav = shop.truth["favourites"]
    rank = fav.set_index([contract.CUSTOMER_ID, contract.PRODUCT_ID])["rank"]
    rank = rank[~rank.index.duplicated()]
    hit = pd.MultiIndex.from_frame(rebuys[[contract.CUSTOMER_ID, contract.PRODUCT_ID]]).isin(rank.index)
    assert len(rebuys) > 1000 and hit.mean() > 0.7  # 10 favourites of 500 products
    ranks = rank.reindex(pd.MultiIndex.from_frame(rebuys[[contract.CUSTOMER_ID, contract.PRODUCT_ID]])).dropna()
    assert (ranks == 0).sum() > 3 * (ranks == 9).sum()


def test_favourite_share_sets_rebuying():
    def rebuy_share(**kw):
        shop = generate_shop({"n_customers": 1500, "seed": 6, "events": False, **kw})
        sales = shop.transactions[shop.transactions[contract.QUANTITY] > 0]
        first = sales.groupby([contract.CUSTOMER_ID, contract.PRODUCT_ID])[contract.TIMESTAMP].transform("min")
        return (sales[contract.TIMESTAMP] > first).mean()

    # without favourites, popular products of a liked category still come back (0.14 here, 0.20 with them)
    assert rebuy_share(favourite_share=0.9) > rebuy_share(favourite_share=0.0) + 0.05


def test_unknown_setting_is_named():
    with pytest.raises(ValueError, match="n_customer"):
        generate_shop({"n_customer": 500})

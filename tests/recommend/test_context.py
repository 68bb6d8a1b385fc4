"""Tests of workbench/recommend/context.py: cluster trending, seasonal and price-affinity recommenders."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.recommend import context as recommend_context
from workbench.recommend.interactions import Interactions


def _tx(rows) -> pd.DataFrame:
    """rows: (customer, product, date, unit_price)."""
    return pd.DataFrame({contract.TRANSACTION_ID: [f"t{i}" for i in range(len(rows))],
                         contract.CUSTOMER_ID: [r[0] for r in rows], contract.PRODUCT_ID: [r[1] for r in rows],
                         contract.TIMESTAMP: pd.to_datetime([r[2] for r in rows]), contract.QUANTITY: 1,
                         contract.UNIT_PRICE: [float(r[3]) if len(r) > 3 else 1.0 for r in rows]})


def test_customer_groups_fallbacks(caplog):
    ids = pd.Index(["a", "b", "c"])
    with caplog.at_level(logging.WARNING, logger="workbench"):
        assert (recommend_context.customer_groups(None, ids) == recommend_context.GLOBAL_GROUP).all()
    assert "global group" in caplog.text
    seg = pd.DataFrame({contract.CUSTOMER_ID: ["a", "b"], "cluster": [2, -1], "segment": ["champions", "lost"]})
    assert recommend_context.customer_groups(seg, ids).tolist() == ["2", recommend_context.GLOBAL_GROUP, recommend_context.GLOBAL_GROUP]
    assert recommend_context.customer_groups(seg, ids, group_col="segment").tolist() == ["champions", "lost", recommend_context.GLOBAL_GROUP]
    assert recommend_context.customer_groups(seg.drop(columns="cluster"), ids).tolist() == ["champions", "lost", recommend_context.GLOBAL_GROUP]


def test_cluster_trending_follows_the_group_and_recent_window():
    rows = [("g1a", "x", "2024-03-01"), ("g1b", "x", "2024-03-02"), ("g1a", "old", "2023-01-01"),
            ("g1b", "old", "2023-01-02"), ("g1c", "old", "2023-01-03"),
            ("g2a", "y", "2024-03-01"), ("g2b", "y", "2024-03-02"), ("g2c", "x", "2024-03-02")]
    tx = _tx(rows)
    inter = Interactions.from_transactions(tx, weight="binary")
    seg = pd.DataFrame({contract.CUSTOMER_ID: ["g1a", "g1b", "g1c", "g2a", "g2b", "g2c"], "cluster": [1, 1, 1, 2, 2, 2]})
    model = recommend_context.ClusterTrendingRecommender(half_life_days=30, prior_strength=0.0).fit(inter, transactions=tx, segments=seg)
    top = model.recommend(["g1c", "g2c", "new"], k=1, exclude_seen=False).set_index(contract.CUSTOMER_ID)[contract.PRODUCT_ID]
    # group 1's recent trend is x ("old" is a year old), group 2's is y, an unknown customer gets the global trend (x)
    assert top.to_dict() == {"g1c": "x", "g2c": "y", "new": "x"}
    # a strong prior pulls small groups towards the global trend
    shrunk = recommend_context.ClusterTrendingRecommender(half_life_days=30, prior_strength=1e6).fit(inter, transactions=tx, segments=seg)
    assert np.allclose(shrunk.group_trend_, shrunk.global_trend_, atol=1e-5)


def test_season_mask_wraps_the_year():
    ts = pd.Series(pd.to_datetime(["2023-12-28", "2024-01-05", "2024-03-01", "2023-12-01"]))
    assert recommend_context.season_mask(ts, "2024-01-01", back_days=7, ahead_days=7).tolist() == [True, True, False, False]


def test_seasonal_ranks_products_peaking_in_the_season():
    rows = ([("c%d" % i, "xmas", f"2022-12-{10 + i}") for i in range(5)]
            + [("d%d" % i, "summer", f"2023-07-{10 + i}") for i in range(8)]
            + [("e%d" % i, "steady", f"2023-{m:02d}-05") for i, m in enumerate(range(1, 13))])
    tx = _tx(rows)
    inter = Interactions.from_transactions(tx, weight="binary")
    dec = recommend_context.SeasonalRecommender(back_days=7, ahead_days=30, date="2023-12-01").fit(inter, transactions=tx)
    jul = recommend_context.SeasonalRecommender(back_days=7, ahead_days=30, date="2023-07-01").fit(inter, transactions=tx)
    assert dec.recommend(["new"], k=3)[contract.PRODUCT_ID].tolist()[0] == "xmas"
    assert jul.recommend(["new"], k=3)[contract.PRODUCT_ID].tolist()[0] == "summer"
    # the most popular product overall (steady, 12 lines) never peaks, so it ranks below the in-season one
    assert dec.seasonal_index_[inter.product_index(["xmas"])[0]] > dec.seasonal_index_[inter.product_index(["steady"])[0]]


def test_price_affinity_matches_the_usual_band():
    rows = ([("cheap", "p_lo", "2024-01-01", 2.0), ("cheap", "p_lo2", "2024-01-02", 2.5)]
            + [("rich", "p_hi", "2024-01-01", 200.0), ("rich", "p_hi2", "2024-01-02", 250.0)]
            + [("o%d" % i, p, "2024-01-03", pr) for i, (p, pr) in enumerate([("q_lo", 2.2), ("q_hi", 220.0)] * 3)])
    tx = _tx(rows)
    products = pd.DataFrame({contract.PRODUCT_ID: ["p_lo", "p_lo2", "p_hi", "p_hi2", "q_lo", "q_hi"],
                             contract.PRICE: [2.0, 2.5, 200.0, 250.0, 2.2, 220.0]})
    inter = Interactions.from_transactions(tx, weight="binary", products=products[contract.PRODUCT_ID])
    model = recommend_context.PriceAffinityRecommender(prior_strength=1.0).fit(inter, transactions=tx, products=products)
    top = model.recommend(["cheap", "rich"], k=1).set_index(contract.CUSTOMER_ID)[contract.PRODUCT_ID]
    assert top.to_dict() == {"cheap": "q_lo", "rich": "q_hi"}
    with pytest.raises(ValueError, match="transactions"):
        recommend_context.PriceAffinityRecommender().fit(inter)


def test_price_affinity_without_a_purchase_centres_everyone_on_the_catalog():
    """Interest without purchases (views only): nobody's band is known, so every band is the prior, centred on the
    catalog's mean log list price with unit spread, instead of failing on integer sums of nothing."""
    viewed = _tx([("a", "p1", "2024-01-01"), ("b", "p2", "2024-01-02"), ("b", "p3", "2024-01-02")])
    products = pd.DataFrame({contract.PRODUCT_ID: ["p1", "p2", "p3"], contract.PRICE: [1.0, 10.0, 100.0]})
    inter = Interactions.from_transactions(viewed, weight="binary", products=products[contract.PRODUCT_ID])
    model = recommend_context.PriceAffinityRecommender().fit(inter, transactions=viewed.iloc[:0], products=products)
    np.testing.assert_allclose(model.mu_, np.log(10.0))  # mean of log 1, log 10, log 100
    np.testing.assert_allclose(model.sigma_, 1.0)
    assert model.recommend(["a"], k=1)[contract.PRODUCT_ID].tolist() == ["p2"]  # the catalog's middle price


@pytest.fixture(scope="module")
def shop():
    from workbench.data.synthetic import generate_shop

    return generate_shop()


def test_price_affinity_recovers_planted_tier_preference(shop):
    """Customers whose planted tier preference is premium get pricier recommendations than budget ones."""
    sales = shop.transactions[shop.transactions[contract.QUANTITY] > 0]
    inter = Interactions.from_transactions(sales, weight="binary", products=shop.products[contract.PRODUCT_ID])
    model = recommend_context.PriceAffinityRecommender().fit(inter, transactions=sales, products=shop.products)
    seg = shop.truth["segments"]
    buyers = seg[seg[contract.CUSTOMER_ID].isin(inter.customer_ids)]
    recs = model.recommend(buyers[contract.CUSTOMER_ID], k=10).merge(shop.products[[contract.PRODUCT_ID, contract.PRICE]], on=contract.PRODUCT_ID)
    mean_log = np.log(recs[contract.PRICE]).groupby(recs[contract.CUSTOMER_ID]).mean()
    tier = buyers.set_index(contract.CUSTOMER_ID)["tier_preference"].astype("str").reindex(mean_log.index)
    by_tier = mean_log.groupby(tier).mean()
    assert by_tier["premium"] > by_tier["mid"] > by_tier["budget"]


def test_seasonal_on_synthetic_follows_category_peaks(shop):
    """In late November the seasonal list is led by the categories the generator peaks in winter."""
    from workbench.data.synthetic import CATEGORIES

    sales = shop.transactions[shop.transactions[contract.QUANTITY] > 0]
    inter = Interactions.from_transactions(sales, weight="binary", products=shop.products[contract.PRODUCT_ID])
    cat = shop.products.set_index(contract.PRODUCT_ID)[contract.CATEGORY].astype("str")
    winter = {c.name for c in CATEGORIES if c.peak_week >= 45}
    summer = {c.name for c in CATEGORIES if 20 <= c.peak_week <= 30}
    nov = recommend_context.SeasonalRecommender(date="2024-11-20").fit(inter, transactions=sales)
    jun = recommend_context.SeasonalRecommender(date="2024-06-01").fit(inter, transactions=sales)
    nov_top = cat[nov.recommend(["new"], k=20)[contract.PRODUCT_ID]]
    jun_top = cat[jun.recommend(["new"], k=20)[contract.PRODUCT_ID]]
    assert nov_top.isin(winter).mean() > 0.6 > nov_top.isin(summer).mean()
    assert jun_top.isin(summer).mean() > nov_top.isin(summer).mean()

"""Tests of workbench/pricing/table.py: the product x period demand table and the interest scores."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.data.shop import Shop
from workbench.pricing import table as pricing_table
from workbench.recommend import registry


def tiny_shop(with_prices: bool = True) -> Shop:
    """Two products over three weeks (Mondays 2024-01-01, 08, 15); P1 sells in weeks 1 and 3, P2 in week 2."""
    customers = pd.DataFrame({contract.CUSTOMER_ID: ["c1", "c2"], contract.SIGNUP_DATE: pd.to_datetime(["2023-12-01"] * 2)})
    products = pd.DataFrame({contract.PRODUCT_ID: ["P1", "P2"], contract.NAME: ["a", "b"], contract.CATEGORY: ["x", "x"],
                             contract.PRICE: [10.0, 20.0]})
    tx = pd.DataFrame({
        contract.TRANSACTION_ID: ["t1", "t1", "t2", "t3", "r1"],
        contract.CUSTOMER_ID: ["c1", "c1", "c2", "c1", "c1"],
        contract.PRODUCT_ID: ["P1", "P1", "P2", "P1", "P1"],
        contract.TIMESTAMP: pd.to_datetime(["2024-01-02 10:00", "2024-01-07 23:00", "2024-01-10 09:00", "2024-01-15 09:00", "2024-01-16 09:00"]),
        contract.QUANTITY: [2, 1, 4, 5, -1],  # the -1 is a return: not demand
        contract.UNIT_PRICE: [10.0, 10.0, 19.0, 8.0, 8.0],
    })
    prices = None
    if with_prices:
        prices = pd.DataFrame({
            contract.PRODUCT_ID: ["P1"] * 3 + ["P2"] * 3,
            contract.DATE: pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15"] * 2),
            contract.PRICE: [10.0, 11.0, 8.0, 20.0, 19.0, 21.0],
            contract.COMPETITOR_PRICE: [10.0, 10.0, 10.0, 20.0, 20.0, 20.0],
            contract.STOCK: [5, 0, 5, 5, 5, 5],
        })
    return Shop(customers=customers, products=products, transactions=tx, prices=prices)


def test_trailing_mean_matches_shifted_rolling_mean():
    v = pd.Series([1.0, 2, 3, 4, 5, 10, 20, 30])
    g = pd.Series(list("aaaaabbb"))
    got = pricing_table.trailing_mean(v, g, 2).tolist()
    assert np.isnan(got[0]) and np.isnan(got[5])
    assert got[1:5] == [1.0, 1.5, 2.5, 3.5] and got[6:] == [10.0, 15.0]
    with pytest.raises(ValueError):
        pricing_table.trailing_mean(v, g, 0)


def test_demand_table_with_prices_has_every_product_week():
    t = pricing_table.build_demand_table(tiny_shop(), "W", ma_window=2, pop_window=2)
    assert len(t) == 6 and list(t[contract.PRODUCT_ID]) == ["P1"] * 3 + ["P2"] * 3
    assert t[pricing_table.UNITS].tolist() == [3.0, 0.0, 5.0, 0.0, 4.0, 0.0]  # zero-sales weeks kept, return excluded
    assert t[contract.PRICE].tolist() == [10.0, 11.0, 8.0, 20.0, 19.0, 21.0]
    assert t[pricing_table.IN_STOCK].tolist() == [True, False, True, True, True, True]
    assert t[pricing_table.PERIOD_INDEX].tolist() == [0, 1, 2, 0, 1, 2]
    p1 = t.iloc[:3]
    assert np.isnan(p1[pricing_table.LAG_UNITS].iloc[0]) and p1[pricing_table.LAG_UNITS].iloc[1:].tolist() == [3.0, 0.0]
    assert p1[pricing_table.MA_UNITS].iloc[2] == 1.5
    assert p1[pricing_table.REF_PRICE].iloc[0] == 10.0  # median of 10, 11, 8
    assert p1[pricing_table.REL_PRICE].tolist() == pytest.approx([1.0, 1.1, 0.8])
    assert p1[pricing_table.PRICE_RATIO].tolist() == pytest.approx([1.0, 1.1, 0.8])
    assert p1[pricing_table.PRICE_CHANGE].iloc[1] == pytest.approx(np.log(11 / 10))
    # category demand per product one period earlier: week 1 of category x sold (3 + 0) / 2 products
    assert t[pricing_table.CAT_LAG_UNITS].iloc[1] == 1.5


def test_price_features_at_a_new_price():
    t = pricing_table.build_demand_table(tiny_shop(), "W")
    f = pricing_table.price_features(t, t[contract.PRICE] * 2)
    assert f[pricing_table.REL_PRICE].to_numpy() == pytest.approx(2 * t[pricing_table.REL_PRICE].to_numpy())
    assert f[pricing_table.LOG_PRICE].to_numpy() == pytest.approx(np.log(2 * t[contract.PRICE].to_numpy()))


def test_without_prices_table_prices_come_from_transactions():
    shop = tiny_shop(with_prices=False)
    assert pricing_table.price_source(shop) == pricing_table.PRICES_FROM_TRANSACTIONS
    assert "BIASED" in pricing_table.price_source_note(pricing_table.price_source(shop))
    t = pricing_table.build_demand_table(shop, "W")
    assert len(t) == 6
    # P1: paid 10 in week 1, nothing in week 2 (carried forward), 8 in week 3; P2: 19 back-filled to week 1
    assert t[contract.PRICE].tolist() == [10.0, 10.0, 8.0, 19.0, 19.0, 19.0]
    assert contract.COMPETITOR_PRICE not in t and t[pricing_table.IN_STOCK].all()


def test_monthly_periods():
    t = pricing_table.build_demand_table(tiny_shop(), "MS")
    assert t[pricing_table.PERIOD].nunique() == 1 and t.groupby(contract.PRODUCT_ID)[pricing_table.UNITS].sum().tolist() == [8.0, 4.0]
    with pytest.raises(ValueError, match="period"):
        pricing_table.build_demand_table(tiny_shop(), "Q")


def test_interest_scores_mean_reciprocal_rank_over_active_customers():
    a = pd.DataFrame({contract.CUSTOMER_ID: ["c1", "c1", "c2"], contract.PRODUCT_ID: ["P1", "P2", "P2"], "rank": [1, 2, 1],
                      "score": [0.9, 0.5, 3.0]})
    b = pd.DataFrame({contract.CUSTOMER_ID: ["c1"], contract.PRODUCT_ID: ["P1"], "rank": [1], "score": [7.0]})
    got = pricing_table.interest_scores({"a": a, "b": b}).set_index(contract.PRODUCT_ID)[pricing_table.INTEREST]
    # a: P1 = (1 + 0) / 2 = 0.5, P2 = (1/2 + 1) / 2 = 0.75; b: P1 = 1 / 1 = 1, P2 = 0
    assert got["P1"] == pytest.approx((0.5 + 1.0) / 2) and got["P2"] == pytest.approx(0.75 / 2)
    assert pricing_table.interest_scores({}) is None
    with pytest.raises(ValueError, match="rank"):
        pricing_table.interest_scores({"bad": a.drop(columns="rank")})


def test_interest_column_uses_scores_or_falls_back_to_popularity():
    shop = tiny_shop()
    scores = pd.DataFrame({contract.PRODUCT_ID: ["P1"], pricing_table.INTEREST: [0.3]})
    t = pricing_table.build_demand_table(shop, "W", interest=scores)
    assert t[pricing_table.INTEREST].tolist() == [0.3] * 3 + [0.0] * 3
    fallback = pricing_table.build_demand_table(shop, "W")
    # week 2: trailing units P1 = 3, P2 = 0 -> shares 1, 0
    assert fallback[pricing_table.INTEREST].iloc[1] == 1.0 and fallback[pricing_table.INTEREST].iloc[4] == 0.0


def test_read_recommendations(tmp_path):
    pd.DataFrame({contract.CUSTOMER_ID: ["c"], contract.PRODUCT_ID: ["P1"], "rank": [1], "score": [1.0]}).to_parquet(
        tmp_path / "recs_pop.parquet")
    (tmp_path / "other.parquet").write_bytes(b"")
    got = pricing_table.read_recommendations(tmp_path)
    assert list(got) == ["pop"] and len(got["pop"]) == 1


def test_price_coverage():
    t = pricing_table.build_demand_table(tiny_shop(), "W")
    assert pricing_table.price_coverage(t) == 1.0 and pricing_table.coverage_note(1.0).startswith("Every")
    assert pricing_table.price_coverage(t.iloc[:5]) == pytest.approx(5 / 6) and "83%" in pricing_table.coverage_note(5 / 6)


def test_interest_comes_from_the_final_recommendations_never_a_baseline():
    def lists(pairs):
        return pd.DataFrame([{contract.CUSTOMER_ID: c, contract.PRODUCT_ID: p, "rank": r + 1, "score": 1.0 / (r + 1)}
                             for c, ps in pairs.items() for r, p in enumerate(ps)])

    test = pd.DataFrame({contract.CUSTOMER_ID: ["c1", "c2"], contract.PRODUCT_ID: ["P1", "P2"]})
    perfect = lists({"c1": ["P1"], "c2": ["P2"]})  # the popular list is the best on the split: still never chosen
    recs = {"popular": perfect, "random": perfect, "content": lists({"c1": ["P2"], "c2": ["P2"]}),
            "ease": lists({"c1": ["P9", "P1"], "c2": ["P2"]})}
    families = registry.families()
    name, final = pricing_table.final_recommendations(recs, test, k=2, n_items=10, families=families)
    assert name == "ease" and final is recs["ease"]  # ease 0.82 > content 0.5 on the split
    recs["hybrid_final"] = lists({"c1": ["P3"]})
    # the hybrid ran: its lists
    assert pricing_table.final_recommendations(recs, test, k=2, n_items=10, families=families)[0] == "hybrid_final"
    assert pricing_table.final_recommendations({"popular": perfect, "random": perfect}, test, 2, 10,
                                                families) == (None, None)
    with pytest.raises(ValueError, match="'mystery' has no family"):  # an unregistered model is named, not guessed
        pricing_table.final_recommendations({"mystery": perfect}, test, 2, 10, families)

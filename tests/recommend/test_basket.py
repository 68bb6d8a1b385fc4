"""Tests of workbench/recommend/basket.py: hand-computed rules, the Groceries check, planted bundles."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.recommend import basket as recommend_basket
from workbench.recommend.interactions import Interactions


def _tx(baskets: dict[str, list[str]], customer_of: dict[str, str] | None = None, qty: int = 1) -> pd.DataFrame:
    rows = [(b, (customer_of or {}).get(b, "c" + b), p, i) for i, (b, items) in enumerate(baskets.items())
            for p in items]
    return pd.DataFrame({
        contract.TRANSACTION_ID: [r[0] for r in rows], contract.CUSTOMER_ID: [r[1] for r in rows],
        contract.PRODUCT_ID: [r[2] for r in rows],
        contract.TIMESTAMP: pd.Timestamp("2024-01-01") + pd.to_timedelta([r[3] for r in rows], unit="D"),
        contract.QUANTITY: qty, contract.UNIT_PRICE: 1.0})


# five baskets: a in 4, b in 4, c in 2; ab in 3, ac in 2, bc in 1, abc in 1
FIVE = {"1": ["a", "b"], "2": ["a", "b", "c"], "3": ["a", "c"], "4": ["b"], "5": ["a", "b"]}


def test_basket_matrix_drops_returns_and_duplicates():
    tx = pd.concat([_tx(FIVE), _tx({"1": ["a"]}), _tx({"9": ["z"]}, qty=-1)], ignore_index=True)
    m, baskets, products = recommend_basket.basket_matrix(tx)
    assert list(baskets) == ["1", "2", "3", "4", "5"]
    assert list(products) == ["a", "b", "c"]  # "z" is only a return
    assert m.dtype == bool and m.nnz == 10
    assert recommend_basket.item_support(m, products).to_dict() == {"a": 0.8, "b": 0.8, "c": 0.4}


def test_min_support_adapts_to_baskets():
    assert recommend_basket.resolve_min_support(1000, None, 5) == 0.005
    assert recommend_basket.resolve_min_support(1000, 0.01, 5) == 0.01
    with pytest.raises(ValueError, match="min_baskets"):
        recommend_basket.resolve_min_support(3, None, 5)


def test_itemsets_and_rules_hand_computed():
    tx = _tx(FIVE)
    itemsets, rules, info = recommend_basket.mine_rules(tx, min_support=0.4, min_confidence=0.5, single_consequent=False,
                                         min_lift=None, max_len=None)
    sup = {tuple(s): v for s, v in zip(itemsets[recommend_basket.ITEMSETS], itemsets[recommend_basket.SUPPORT])}
    assert sup == pytest.approx({("a",): 0.8, ("b",): 0.8, ("c",): 0.4, ("a", "b"): 0.6, ("a", "c"): 0.4})
    r = {(tuple(a), tuple(c)): row for a, c, row in zip(rules[recommend_basket.ANTECEDENTS], rules[recommend_basket.CONSEQUENTS],
                                                         rules.to_dict("records"))}
    # c -> a: support 0.4, confidence 0.4/0.4 = 1, lift 1/0.8 = 1.25, leverage 0.4 - 0.4*0.8 = 0.08
    ca = r[(("c",), ("a",))]
    assert ca[recommend_basket.CONFIDENCE] == pytest.approx(1.0) and ca[recommend_basket.LIFT] == pytest.approx(1.25)
    assert ca[recommend_basket.LEVERAGE] == pytest.approx(0.08) and np.isinf(ca[recommend_basket.CONVICTION])
    # a -> b: confidence 0.6/0.8 = 0.75, lift 0.75/0.8 = 0.9375, conviction (1-0.8)/(1-0.75) = 0.8
    ab = r[(("a",), ("b",))]
    assert ab[recommend_basket.CONFIDENCE] == pytest.approx(0.75) and ab[recommend_basket.LIFT] == pytest.approx(0.9375)
    assert ab[recommend_basket.CONVICTION] == pytest.approx(0.8)
    assert info["n_itemsets"] == 5 and info["n_rules"] == len(rules) == 4  # a->b, b->a, c->a, a->c (0.5)
    assert rules[recommend_basket.LIFT].is_monotonic_decreasing
    # min_lift keeps associations only
    _, strong, _ = recommend_basket.mine_rules(tx, min_support=0.4, min_confidence=0.5, min_lift=1.0)
    assert {(tuple(a), tuple(c)) for a, c in zip(strong[recommend_basket.ANTECEDENTS], strong[recommend_basket.CONSEQUENTS])} == \
        {(("c",), ("a",)), (("a",), ("c",))}


def test_no_itemsets_gives_empty_rules():
    _, rules, info = recommend_basket.mine_rules(_tx({"1": ["a"], "2": ["b"]}), min_support=0.9)
    assert len(rules) == 0 and list(rules.columns) == recommend_basket.RULE_COLUMNS and info["n_rules"] == 0


def test_bundles_recovered_counts_mirrors_once():
    rules = pd.DataFrame({recommend_basket.ANTECEDENTS: [["a"], ["b"], ["x"], ["c"]], recommend_basket.CONSEQUENTS: [["b"], ["a"], ["y"], ["d"]],
                          recommend_basket.SUPPORT: 0.1, recommend_basket.CONFIDENCE: 0.5, recommend_basket.LIFT: [9.0, 9.0, 8.0, 7.0]})
    bundles = pd.DataFrame({"product_a": ["a", "d", "q"], "product_b": ["b", "c", "r"]})
    assert recommend_basket.bundles_recovered(rules, bundles, top=2)["recovered"].tolist() == [True, False, False]
    assert recommend_basket.bundles_recovered(rules, bundles, top=3)["recovered"].tolist() == [True, True, False]
    assert recommend_basket.bundles_recovered(rules, bundles, top=3, distinct=False)["recovered"].tolist() == [True, False, False]


def test_cross_sell_scores_best_firing_rule_and_excludes_held():
    rules = pd.DataFrame({recommend_basket.ANTECEDENTS: [["a"], ["a", "b"], ["c"]], recommend_basket.CONSEQUENTS: [["d"], ["e"], ["d"]],
                          recommend_basket.SUPPORT: 0.1, recommend_basket.CONFIDENCE: [0.5, 0.8, 0.9], recommend_basket.LIFT: [2.0, 4.0, 3.0]})
    tx = _tx({"1": ["a"], "2": ["a", "b"], "3": ["c", "a"], "4": ["f"]}, customer_of={"1": "u1", "2": "u2", "3": "u3",
                                                                                     "4": "u4"})
    inter = Interactions.from_transactions(tx, weight="binary", products=list("abcdef"))
    model = recommend_basket.BasketRecommender(recent_baskets=1).fit(inter, transactions=tx, rules=rules)
    sc = model.score(["u1", "u2", "u2", "u3", "u3"], ["d", "e", "d", "d", "a"])
    # u1 holds a: a->d fires (2*0.5=1); u2 holds a,b: a,b->e fires (3.2), a->d (1); u3 holds c,a: max(1, 2.7); held a -> 0
    assert sc == pytest.approx([1.0, 3.2, 1.0, 2.7, 0.0], abs=1e-5)
    recs = model.recommend(["u2", "u4"], k=2)
    assert recs[recs[contract.CUSTOMER_ID] == "u2"][contract.PRODUCT_ID].tolist() == ["e", "d"]
    assert not recs[contract.PRODUCT_ID].isin(["f"]).any() or recs[recs[contract.CUSTOMER_ID] == "u4"][contract.PRODUCT_ID].ne("f").all()
    with pytest.raises(ValueError, match="rule_metric must be"):
        recommend_basket.BasketRecommender(rule_metric="nope").fit(inter, transactions=tx, rules=rules)


def test_cross_sell_without_a_basket_has_no_rules_and_ranks_by_popularity():
    """Interest without purchases (the interactions of a view log, no sale line): nothing to mine, so no rule,
    and the scores are the popularity tie-break alone, instead of failing on a support of no baskets."""
    viewed = _tx({"1": ["a"], "2": ["a", "b"], "3": ["a"]}, customer_of={"1": "u1", "2": "u2", "3": "u3"})
    inter = Interactions.from_transactions(viewed, weight="binary", products=list("abc"))
    model = recommend_basket.BasketRecommender().fit(inter, transactions=viewed.iloc[:0])
    assert len(model.rules_) == 0 and model.info_["n_baskets"] == 0
    assert model.recommend(["u1"], k=2)[contract.PRODUCT_ID].tolist() == ["b", "c"]  # b viewed once, c never


def test_synthetic_planted_bundles_are_top_rules():
    from workbench.data.synthetic import generate_shop

    shop = generate_shop()  # the default 1,000-customer shop of params/default.yaml
    _, rules, info = recommend_basket.mine_rules(shop.transactions, min_baskets=recommend_basket.DEFAULTS["min_baskets"],
                                  min_confidence=recommend_basket.DEFAULTS["min_confidence"], max_len=recommend_basket.DEFAULTS["max_len"],
                                  min_lift=recommend_basket.DEFAULTS["min_lift"])
    found = recommend_basket.bundles_recovered(rules, shop.truth["bundles"], top=20)
    assert found["recovered"].sum() >= 17, found


def test_groceries_matches_published_arules_numbers(datasets):
    from workbench.data.adapters import groceries

    f = datasets / "groceries" / "groceries.csv"
    if not f.exists():
        pytest.skip("groceries data set not present")
    tx = groceries.load(path=f).transactions
    m, baskets, products = recommend_basket.basket_matrix(tx)
    assert (len(baskets), len(products)) == (9835, 169)
    assert recommend_basket.item_support(m, products)["whole milk"] == pytest.approx(0.2555, abs=5e-5)
    t0 = time.process_time()  # CPU seconds: wall time on a shared 2-core machine is noisy
    itemsets = recommend_basket.frequent_itemsets(m, products, 0.001)
    rules = recommend_basket.association_rules(itemsets, len(baskets), min_confidence=0.5, single_consequent=True)
    assert time.process_time() - t0 < 5.0
    assert len(rules) == 5668
    assert len(recommend_basket.association_rules(itemsets, len(baskets), min_confidence=0.5, single_consequent=False)) == 5829
    top = rules.iloc[0]
    assert top[recommend_basket.ANTECEDENTS] == ["Instant food products", "soda"] and top[recommend_basket.CONSEQUENTS] == ["hamburger meat"]
    assert top[recommend_basket.LIFT] == pytest.approx(18.996, abs=5e-4)


# ---- the memory budget: itemsets are counted before mining ------------------------------------------
def _wide_basket_shop(small_shop, n_wide: int = 25, width: int = 40, seed: int = 3) -> pd.DataFrame:
    """The small synthetic shop's lines plus ``n_wide`` wholesale invoices of ``width`` products each (a few of
    them repeat one assortment, as a wholesaler's orders do): the case where a low adaptive support explodes."""
    rng = np.random.default_rng(seed)
    tx = small_shop.transactions
    products = tx[contract.PRODUCT_ID].astype("str").unique()
    core = rng.choice(products, width, replace=False)
    rows = []
    for b in range(n_wide):
        items = core if b % 2 == 0 else rng.choice(products, width, replace=False)
        rows += [(f"W{b}", "wholesaler", p) for p in items]
    wide = pd.DataFrame(rows, columns=[contract.TRANSACTION_ID, contract.CUSTOMER_ID, contract.PRODUCT_ID])
    wide = wide.assign(**{contract.TIMESTAMP: tx[contract.TIMESTAMP].max(), contract.QUANTITY: 1,
                          contract.UNIT_PRICE: 1.0})
    return pd.concat([tx[wide.columns], wide], ignore_index=True)


def test_wide_baskets_raise_the_adaptive_support_to_fit_the_budget(small_shop, caplog):
    from workbench.recommend.itemsets import sparse_itemsets

    tx = _wide_basket_shop(small_shop)
    m, baskets, products = recommend_basket.basket_matrix(tx)
    requested = recommend_basket.resolve_min_support(len(baskets), None, 5)
    everything = len(sparse_itemsets(m, products, requested, 3))  # brute-force reference: mine it all
    budget = 1000
    alone = recommend_basket.mine_rules(small_shop.transactions, min_support=None, max_itemsets=None)[2]
    assert everything > 10 * budget > alone["n_itemsets"]  # the wide invoices explode the itemsets at 5 baskets
    with caplog.at_level("WARNING", logger="workbench.recommend.basket"):
        itemsets, _, info = recommend_basket.mine_rules(tx, min_support=None, max_itemsets=budget)
    assert info["itemsets_at_requested"] == everything  # counted exactly, before mining
    assert info["min_support_requested"] == requested and info["max_itemsets"] == budget
    assert info["min_support"] > requested and len(itemsets) == info["n_itemsets"] <= budget
    # the lowest support within the budget: one basket fewer would build more than the budget
    one_fewer = (round(info["min_support"] * len(baskets)) - 1) / len(baskets)
    assert len(sparse_itemsets(m, products, one_fewer, 3)) > budget
    assert "raised to" in caplog.text and f"{everything:,}" in caplog.text and "basket.max_itemsets" in caplog.text


def test_a_fixed_support_over_the_budget_stops_with_the_setting_and_the_count(small_shop):
    from workbench.errors import ItemsetBudgetError, WorkbenchError
    from workbench.recommend.itemsets import sparse_itemsets

    tx = _wide_basket_shop(small_shop)
    m, baskets, products = recommend_basket.basket_matrix(tx)
    support = 5 / len(baskets)
    everything = len(sparse_itemsets(m, products, support, 3))
    with pytest.raises(ItemsetBudgetError, match=r"basket\.min_support") as err:
        recommend_basket.mine_rules(tx, min_support=support, max_itemsets=1000)
    assert isinstance(err.value, WorkbenchError) and f"{everything:,} frequent itemsets" in str(err.value)
    # the cross-sell recommender (notebooks 04 and 05) mines with the same budget
    inter = Interactions.from_transactions(tx)
    with pytest.raises(ItemsetBudgetError, match="cross_sell"):
        recommend_basket.BasketRecommender(min_support=support, max_itemsets=1000).fit(inter, transactions=tx)
    fitted = recommend_basket.BasketRecommender(max_itemsets=1000).fit(inter, transactions=tx)
    assert fitted.info_["n_itemsets"] <= 1000 < fitted.info_["itemsets_at_requested"] == everything

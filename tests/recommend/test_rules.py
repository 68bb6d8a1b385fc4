"""Business rules: availability, segment boosts, diversity, confidence and explanations."""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from workbench.data import contract
from workbench.recommend import rules as recommend_rules
from workbench.recommend.hybrid import CandidateSet, Switching


def _cs(items, scores, positions=None, customers=("u1", "u2"), products=("a", "b", "c", "d", "e", "f"),
        names=("x", "y"), buckets=None):
    items = np.asarray(items)
    scores = np.asarray(scores, dtype=np.float32)
    if scores.ndim == 2:
        scores = scores[:, :, None].repeat(len(names), axis=2)
    pos = np.ones_like(scores) if positions is None else np.asarray(positions, dtype=np.float32)
    n = len(customers)
    return CandidateSet(pd.Index(customers), pd.Index(products), list(names), items, scores, pos, items >= 0,
                        np.full(n, 5), np.array(buckets or ["warm"] * n, dtype=object))


def test_unavailable_products_uses_the_latest_stock_record():
    prices = pd.DataFrame({contract.PRODUCT_ID: ["a", "a", "b", "b", "c"],
                           contract.DATE: pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-01", "2024-01-08",
                                                   "2024-01-01"]),
                           contract.PRICE: 1.0, contract.STOCK: [0, 5, 3, 0, 0]})
    assert list(recommend_rules.unavailable_products(prices)) == ["b", "c"]
    assert list(recommend_rules.unavailable_products(prices, as_of="2024-01-03")) == ["a", "c"]
    assert len(recommend_rules.unavailable_products(prices.drop(columns=contract.STOCK))) == 0
    assert len(recommend_rules.unavailable_products(None)) == 0


def test_price_percentile_and_price_sensitive_customers():
    products = pd.DataFrame({contract.PRODUCT_ID: ["a", "b", "c", "d"], contract.CATEGORY: ["x", "x", "x", "y"],
                             contract.PRICE: [1.0, 5.0, 9.0, 3.0]})
    pct = recommend_rules.price_percentile(products)
    assert pct.to_dict() == pytest.approx({"a": 0.0, "b": 0.5, "c": 1.0, "d": 0.5})
    tx = pd.DataFrame({contract.CUSTOMER_ID: ["cheap", "cheap", "dear", "dear", "one"],
                       contract.PRODUCT_ID: ["a", "a", "c", "b", "a"],
                       contract.QUANTITY: [1, 2, 1, 1, 1]})
    assert list(recommend_rules.price_sensitive_customers(tx, products, max_pct=0.3)) == ["cheap"]  # "one" has a single line


def test_customer_rules_map_segments_and_price_sensitivity():
    seg = pd.DataFrame({contract.CUSTOMER_ID: ["u1", "u2", "u3"], "segment": ["champions", "at_risk", "promising"]})
    rules = {"champions": "premium", "at_risk": "win_back", "price_sensitive": "value"}
    out = recommend_rules.customer_rules(["u1", "u2", "u3", "u4"], seg, pd.Index(["u2", "u4"]), rules)
    assert out.to_dict() == {"u1": "premium", "u2": "value", "u3": "", "u4": "value"}
    assert recommend_rules.customer_rules(["u1"], None, None, rules).to_dict() == {"u1": ""}
    with pytest.raises(ValueError, match="segment rules"):
        recommend_rules.customer_rules(["u1"], seg, None, {"champions": "gold"})


def test_rule_boosts_and_favourite_category():
    held = sp.csr_matrix(np.array([[1, 1, 0, 0, 0, 0], [0, 0, 0, 1, 1, 0]]))
    category = np.array([0, 0, 1, 1, 1, 2])
    fav = recommend_rules.favourite_category(held, category)
    assert list(fav) == [0, 1]
    cs = _cs([[2, 3, 5, -1], [0, 2, 5, 1]], np.zeros((2, 4)))
    price_pct = np.array([0.0, 0.9, 0.8, 0.1, 0.5, 1.0])
    rules = pd.Series({"u1": "premium", "u2": "win_back"})
    b = recommend_rules.rule_boosts(cs, rules, price_pct, category, fav, boost=0.2)
    assert b[0] == pytest.approx([0.2, 0.0, 0.2, 0.0])    # premium: products c (0.8) and f (1.0); padding 0
    assert b[1] == pytest.approx([0.0, 0.2, 0.0, 0.0])    # win back: category 1 (favourite of u2) -> c
    b2 = recommend_rules.rule_boosts(cs, pd.Series({"u1": "value"}), price_pct, category, fav, boost=0.2)
    assert b2[0] == pytest.approx([0.0, 0.2, 0.0, 0.0]) and b2[1] == pytest.approx([0.0] * 4)


def test_max_per_category_keeps_the_best_n_of_each():
    category = np.array([0, 0, 0, 1, 1, 2])
    cs = _cs([[0, 1, 2, 3, 4, 5]], [[0.9, 0.8, 0.7, 0.6, 0.5, 0.4]], customers=("u1",))
    out = recommend_rules.max_per_category(cs, np.array([[0.9, 0.8, 0.7, 0.6, 0.5, 0.4]]), category, 2)
    assert np.isinf(out[0, 2]) and np.isfinite(out[0, [0, 1, 3, 4, 5]]).all()
    out1 = recommend_rules.max_per_category(cs, np.array([[0.1, 0.8, 0.7, 0.6, 0.5, 0.4]]), category, 1)
    assert list(np.isfinite(out1[0])) == [False, True, False, True, False, True]   # b, d, f survive
    same = recommend_rules.max_per_category(cs, np.array([[0.9, 0.8, 0.7, 0.6, 0.5, 0.4]]), category, 0)
    assert np.isfinite(same).all()


def test_mmr_trades_relevance_for_diversity():
    feats = np.eye(3)[[0, 0, 0, 1, 1, 2]]  # one-hot categories of products a..f
    sc = np.array([[0.9, 0.85, 0.8, 0.5, 0.45, 0.1]])
    cs = _cs([[0, 1, 2, 3, 4, 5]], sc, customers=("u1",))
    pure = recommend_rules.mmr(cs, sc, feats, k=3, lam=1.0)
    assert list(np.argsort(-pure[0])[:3]) == [0, 1, 2]          # lambda 1: relevance order
    diverse = recommend_rules.mmr(cs, sc, feats, k=3, lam=0.3)
    assert list(np.argsort(-diverse[0])[:3]) == [0, 3, 5]       # one per category
    assert np.isinf(diverse[0, [1, 2, 4]]).all()


def test_confidence_and_top_component():
    pos = np.array([[[1, 30], [25, 2]]], dtype=np.float32)      # customer x candidate x component
    sc = np.array([[[0.9, 0.2], [0.1, 0.8]]], dtype=np.float32)
    cs = _cs(np.array([[0, 1]]), sc, positions=pos, customers=("u1",))
    W = np.array([[0.75, 0.25]])
    cols = np.array([[0, 1]])
    assert recommend_rules.confidence(cs, cols, W, top=20)[0] == pytest.approx([0.75, 0.25])
    assert list(recommend_rules.top_component(cs, cols, W)[0]) == [0, 1]          # 0.675 vs 0.05; 0.075 vs 0.2
    Wsw = recommend_rules.row_weights(cs, {"x": 0.75, "y": 0.25}, Switching(True, ("x",), ("y",)))
    assert Wsw[0] == pytest.approx([0.75, 0.25])                     # warm: not switched


def test_explanations_name_the_most_similar_held_product():
    products = pd.DataFrame({contract.PRODUCT_ID: list("abcdef"),
                             contract.NAME: ["Apple", "Bread", "Cheese", "Dates", "Eggs", "Figs"],
                             contract.CATEGORY: ["fruit", "bakery", "dairy", "fruit", "dairy", "fruit"]})
    held = sp.csr_matrix(np.array([[1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], [0, 1, 0, 0, 1, 0]]))
    baskets = sp.csr_matrix(np.array([[1, 0, 0, 1, 0, 0], [0, 1, 1, 0, 0, 0], [0, 1, 1, 0, 0, 0]]))
    sims = recommend_rules.similarity_matrices(held, products, pd.Index(list("abcdef")), baskets)
    assert sims["basket"][1, 2] == pytest.approx(1.0) and sims["attributes"][0, 3] == pytest.approx(1.0)
    cs = _cs(np.array([[2, 3, 5], [2, 3, 5]]), np.zeros((2, 3)), names=("cross_sell", "content", "seasonal"))
    comp = np.array([[0, 1, 2], [0, 1, 2]])
    names = products.set_index(contract.PRODUCT_ID)[contract.NAME]
    text = recommend_rules.explain(cs, np.array([[0, 1, 2], [0, 1, 2]]), comp, held, np.array([0, -1]), names, sims)
    assert text[0, 0] == "often bought together with Bread"     # cheese shares invoices with bread
    assert text[0, 1] == "similar to Apple"                     # dates: same category as apple
    assert text[0, 2] == "popular this season"
    assert text[1, 0] == recommend_rules.GENERIC                              # unknown customer: nothing held to name

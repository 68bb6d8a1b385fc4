"""Tests of workbench/recommend/content.py: vectors, sparse similarity, profiles, the cold-start experiment."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from workbench.data import contract
from workbench.recommend import content as CB
from workbench.recommend.interactions import Interactions


def _products() -> pd.DataFrame:
    return pd.DataFrame({
        contract.PRODUCT_ID: ["p1", "p2", "p3", "p4"],
        contract.NAME: ["red wool scarf", "blue wool scarf", "steel chef knife", "steel bread knife"],
        contract.CATEGORY: ["clothing", "clothing", "kitchen", "kitchen"],
        contract.PRICE: [10.0, 12.0, 50.0, 60.0],
        contract.DESCRIPTION: ["warm", "warm", "sharp", "sharp"],
    })


def test_block_weights_give_weighted_mean_of_block_cosines():
    p = pd.DataFrame({contract.PRODUCT_ID: ["a", "b", "c"], contract.NAME: ["x", "y", "z"], contract.CATEGORY: ["k", "k", "m"],
                      contract.PRICE: [1.0, 100.0, 100.0]})
    v, names = CB.product_vectors(p, text_weight=0, category_weight=1.0, brand_weight=0, price_weight=3.0,
                                  n_price_bands=2)
    sim = (v @ v.T).toarray()
    # a,b: same category (cos 1), other price band (cos 0): (1*1 + 3*0) / 4; b,c: (1*0 + 3*1) / 4
    assert sim[0, 1] == pytest.approx(0.25) and sim[1, 2] == pytest.approx(0.75) and sim[0, 2] == pytest.approx(0)
    assert np.allclose(np.diag(sim), 1.0)
    assert "category:k" in names and "price_band:1" in names


def test_constant_price_and_no_features():
    p = _products().assign(**{contract.PRICE: 1.0})
    _, names = CB.product_vectors(p)
    assert not any(n.startswith("price_band") for n in names)
    with pytest.raises(ValueError, match="no product features"):
        CB.product_vectors(p.assign(**{contract.CATEGORY: "one"}), text_weight=0, brand_weight=0)


def test_sparse_topn_similarity_equals_dense_and_blocks_do_not_matter():
    rng = np.random.default_rng(0)
    v = sp.random(60, 30, density=0.2, random_state=1, format="csr", dtype=np.float64)
    v = sp.csr_matrix(v.toarray() / np.maximum(np.linalg.norm(v.toarray(), axis=1, keepdims=True), 1e-12))
    dense = (v @ v.T).toarray()
    np.fill_diagonal(dense, -np.inf)
    one = CB.item_similarity(v, n_neighbours=5, max_dense_cells=10**9)
    many = CB.item_similarity(v, n_neighbours=5, max_dense_cells=60 * 7)  # 7 rows per block
    assert (one != many).nnz == 0
    assert one.getnnz(axis=1).max() <= 5 and one.diagonal().sum() == 0
    for i in rng.choice(60, 10, replace=False):
        row = one[i].toarray().ravel()
        kept = np.flatnonzero(row)
        expect = np.sort(dense[i])[::-1][: len(kept)]
        assert np.allclose(np.sort(row[kept])[::-1], expect, atol=1e-6)


def test_similarity_table_ranks():
    v, _ = CB.product_vectors(_products())
    tab = CB.similarity_table(CB.item_similarity(v, 2), pd.Index(_products()[contract.PRODUCT_ID]))
    assert list(tab.columns) == [contract.PRODUCT_ID, CB.SIMILAR_PRODUCT_ID, CB.SIMILARITY, CB.RANK]
    first = tab[tab[CB.RANK] == 1].set_index(contract.PRODUCT_ID)[CB.SIMILAR_PRODUCT_ID].to_dict()
    assert first == {"p1": "p2", "p2": "p1", "p3": "p4", "p4": "p3"}
    assert (tab.groupby(contract.PRODUCT_ID)[CB.SIMILARITY].diff().dropna() <= 0).all()


def _tx(rows) -> pd.DataFrame:
    return pd.DataFrame({contract.TRANSACTION_ID: [f"t{i}" for i in range(len(rows))],
                         contract.CUSTOMER_ID: [r[0] for r in rows], contract.PRODUCT_ID: [r[1] for r in rows],
                         contract.TIMESTAMP: pd.to_datetime([r[2] for r in rows]), contract.QUANTITY: 1, contract.UNIT_PRICE: 1.0})


def test_recency_weights_half_life():
    tx = _tx([("u", "p1", "2024-01-01"), ("u", "p3", "2024-01-11"), ("u", "p3", "2024-01-21")])
    inter = Interactions.from_transactions(tx, products=_products()[contract.PRODUCT_ID])
    w = CB.recency_weights(tx, inter, half_life_days=10).toarray()[0]
    assert w == pytest.approx([0.25, 0, 1.5, 0])  # p3: 1 (today) + 0.5 (10 days ago)
    assert CB.recency_weights(tx, inter, None).toarray()[0] == pytest.approx([1, 0, 2, 0])


def test_profile_recommends_nearest_unseen_including_never_bought():
    tx = _tx([("u1", "p1", "2024-01-01"), ("u2", "p3", "2024-01-02"), ("u2", "p1", "2023-01-01")])
    inter = Interactions.from_transactions(tx, weight="binary", products=_products()[contract.PRODUCT_ID])
    model = CB.ContentRecommender(half_life_days=30).fit(inter, products=_products(), transactions=tx)
    recs = model.recommend(["u1", "u2"], k=1)
    # p2 and p4 were never bought (cold): content still recommends them; u2's recent purchase (p3) dominates
    assert recs.set_index(contract.CUSTOMER_ID)[contract.PRODUCT_ID].to_dict() == {"u1": "p2", "u2": "p4"}
    with pytest.raises(ValueError, match="products"):
        CB.ContentRecommender().fit(inter)


def test_cold_start_experiment_on_synthetic():
    from workbench.data.synthetic import generate_shop
    from workbench.evaluate.split import chronological_split
    from workbench.recommend.baselines import MostPopular

    small_shop = generate_shop()  # the default shop: 500 products, enough cold ones for a stable comparison
    sales = small_shop.transactions[small_shop.transactions[contract.QUANTITY] > 0]
    train, test = chronological_split(sales, ratio=0.8)
    cold = CB.launched_products(train, test, share=0.1, seed=1)
    assert cold.equals(CB.launched_products(train, test, share=0.1, seed=1))
    assert set(test[contract.PRODUCT_ID]).difference(train[contract.PRODUCT_ID]) <= set(cold)
    train_cold = train[~train[contract.PRODUCT_ID].isin(cold)]
    inter = Interactions.from_transactions(train_cold, weight="binary", products=small_shop.products[contract.PRODUCT_ID])
    models = {"content": CB.ContentRecommender(), "popular": MostPopular()}
    for m in models.values():
        m.fit(inter, transactions=train_cold, products=small_shop.products)
    tab = CB.cold_start_eval(models, test, cold, k=10, seed=0).set_index("model")
    assert tab.loc["popular", "cold_recommended"] == 0 and tab.loc["popular", "cold_recall@10"] == 0
    assert tab.loc["content", "cold_recommended"] > 0.3
    # ranking the cold products only, content beats chance (popularity has nothing to go on: random ties)
    chance = tab.loc["content", "random_recall_only@10"]
    assert tab.loc["content", "cold_recall_only@10"] > 1.3 * chance
    assert abs(tab.loc["popular", "cold_recall_only@10"] - chance) < 0.5 * chance

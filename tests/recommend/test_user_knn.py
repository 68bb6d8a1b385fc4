"""User-kNN: equal to a brute-force dense reference (every neighbour scored, full sort) on small matrices, with
and without grouped neighbours, and it recovers planted taste better than the best sellers."""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from workbench.data import contract
from workbench.evaluate import taste
from workbench.recommend import registry
from workbench.recommend.baselines import MostPopular
from workbench.recommend.interactions import Interactions
from workbench.recommend.user_knn import UserKNN, top_k_per_row

U, I = contract.CUSTOMER_ID, contract.PRODUCT_ID


def _brute_force(X: np.ndarray, k: int | None, shrink: float, groups: np.ndarray | None = None) -> np.ndarray:
    """Scores from the dense customers x customers cosine with shrinkage, each row's neighbours by a full sort
    (ties: the lower customer), grouped customers (code >= 0) neighbouring only their own group."""
    X = X.astype(np.float64)
    norms = np.sqrt((X * X).sum(axis=1))
    S = (X @ X.T) / (norms[:, None] * norms[None, :] + shrink + 1e-12)
    np.fill_diagonal(S, 0.0)
    if groups is not None:
        S = np.where((groups[:, None] == groups[None, :]) | (groups[:, None] < 0), S, 0.0)
    kept = np.zeros_like(S)
    for u in range(len(S)):
        order = [v for v in np.lexsort((np.arange(len(S)), -S[u])) if S[u, v] > 0]
        kept[u, order[:k] if k else order] = S[u, order[:k] if k else order]
    return kept @ X


def _skewed_interactions(seed: int, n_users: int = 60, n_items: int = 30) -> Interactions:
    """Customers buying 1-7 products with heavy-tailed popularity (many ties in similarity)."""
    rng = np.random.default_rng(seed)
    pop = rng.pareto(1.0, n_items) + 0.1
    rows = [(f"u{u:03d}", f"i{i:03d}") for u in range(n_users)
            for i in rng.choice(n_items, rng.integers(1, 8), replace=False, p=pop / pop.sum())]
    return Interactions.from_frame(pd.DataFrame(rows, columns=[U, I]))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [3, 10, None])
@pytest.mark.parametrize("grouped", [False, True])
def test_scores_equal_the_brute_force_reference(seed, k, grouped):
    inter = _skewed_interactions(seed)
    n = inter.shape[0]
    segments, codes = None, None
    if grouped:
        labels = np.random.default_rng(seed + 100).choice(np.array(["a", "b", None], dtype=object), n)
        segments = pd.DataFrame({U: inter.customer_ids, "segment": labels})
        codes = pd.factorize(pd.Series(labels), sort=True)[0]
    model = UserKNN(k_neighbors=k, shrink=2.0, group_col="segment" if grouped else None).fit(inter, segments=segments)
    want = _brute_force(inter.binary().toarray(), k, 2.0, codes)
    np.testing.assert_allclose(model.score_batch(np.arange(n)), want, atol=1e-5)


def test_top_k_per_row_keeps_the_largest_and_the_lower_column_on_ties():
    S = sp.csr_matrix(np.array([[0.2, 0.5, 0.5, 0.1], [0.0, 0.3, 0.0, 0.0], [0.4, 0.4, 0.4, 0.9]]))
    got = top_k_per_row(S, 2).toarray()
    np.testing.assert_array_equal(got, [[0, 0.5, 0.5, 0], [0, 0.3, 0, 0], [0.4, 0, 0, 0.9]])


def test_group_without_a_segmentation_table_falls_back_to_every_customer(caplog):
    inter = _skewed_interactions(0)
    grouped = UserKNN(k_neighbors=5, group_col="cluster").fit(inter)
    plain = UserKNN(k_neighbors=5).fit(inter)
    np.testing.assert_allclose(grouped.score_batch(np.arange(10)), plain.score_batch(np.arange(10)))
    assert "no segmentation table" in caplog.text
    with pytest.raises(ValueError, match="group_col"):
        UserKNN(group_col="region")


def test_recovers_planted_taste_better_than_the_best_sellers(small_shop):
    """Planted truth: each synthetic customer's category affinity; the customers' neighbours share it, the
    shop-wide best sellers do not."""
    sales = small_shop.transactions[small_shop.transactions[contract.QUANTITY] > 0]
    inter = Interactions.from_transactions(sales, weight="binary")
    users = inter.customer_ids
    lists = {name: model.fit(inter, transactions=sales).recommend(users, k=10)
             for name, model in {"user_knn": UserKNN(k_neighbors=30), "popular": MostPopular()}.items()}
    table = taste.taste_recovery(lists, small_shop.truth["taste"], small_shop.products, n_boot=200)
    assert table.loc["user_knn", "correlation_low"] > table.loc["popular", "correlation_high"]


def test_registered_as_a_default_model_and_a_hybrid_component():
    spec = registry.get("user_knn")
    assert spec.cls is UserKNN and spec.family == "cf" and spec.default and spec.hybrid
    assert registry.build("user_knn", {"k_neighbors": 7}).k_neighbors == 7


def test_a_matrix_without_purchases_scores_zero_not_an_error():
    inter = Interactions.from_frame(pd.DataFrame({U: ["a", "b"], I: ["x", "y"]}))
    inter.matrix = sp.csr_matrix(inter.matrix.shape)
    segments = pd.DataFrame({U: ["a", "b"], "cluster": [0, -1]})
    model = UserKNN(k_neighbors=3, group_col="cluster").fit(inter, segments=segments)
    assert (model.score_batch(np.arange(2)) == 0).all()


def test_a_hybrid_component_with_grouped_neighbours():
    import copy

    from workbench.recommend import hybrid

    inter = _skewed_interactions(2)
    segments = pd.DataFrame({U: inter.customer_ids, "segment": np.where(np.arange(inter.shape[0]) % 2, "a", "b")})
    cfg = copy.deepcopy(hybrid.DEFAULTS)
    cfg["components"] = {"neighbours": {"model": "user_knn", "params": {"k_neighbors": 5, "group_col": "segment"}}}
    cfg["weights"] = {"neighbours": 1.0}
    model = hybrid.build_hybrid(cfg, inter, {"segments": segments})
    component = model.components["neighbours"]
    assert isinstance(component, UserKNN) and component.groups_ is not None
    assert len(model.recommend(inter.customer_ids[:5], k=3)) == 15

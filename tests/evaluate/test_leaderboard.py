"""The leaderboard against an independent, brute-force NDCG (pure Python, microsoft/recommenders' rules)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.errors import PopulationError
from workbench.evaluate import leaderboard as evaluate_leaderboard
from workbench.recommend import registry

U, I = contract.CUSTOMER_ID, contract.PRODUCT_ID
FAMILIES = registry.families()


def brute_ndcg(recs: pd.DataFrame, test: pd.DataFrame, k: int) -> float:
    """NDCG@k written out per customer with loops: binary gains, lists ordered by rank, IDCG over
    min(relevant, k), averaged over the customers present in both the lists and the test pairs
    (microsoft/recommenders ``ndcg_at_k`` semantics)."""
    relevant: dict[str, set] = {}
    for u, i in zip(test[U].astype(str), test[I].astype(str)):
        relevant.setdefault(u, set()).add(i)
    lists: dict[str, list] = {}
    for u, i, r in sorted(zip(recs[U].astype(str), recs[I].astype(str), recs["rank"]), key=lambda t: (t[0], t[2])):
        lists.setdefault(u, []).append(i)
    common = sorted(set(relevant) & set(lists))
    total = 0.0
    for u in common:
        dcg = sum(1.0 / math.log2(pos + 2) for pos, i in enumerate(lists[u][:k]) if i in relevant[u])
        idcg = sum(1.0 / math.log2(pos + 2) for pos in range(min(len(relevant[u]), k)))
        total += dcg / idcg
    return total / len(common)


def _lists(rng, customers, products, k) -> pd.DataFrame:
    rows = []
    for u in customers:
        picks = rng.choice(products, k, replace=False)
        rows += [(u, p, float(k - r), r + 1) for r, p in enumerate(picks)]
    return pd.DataFrame(rows, columns=[U, I, "score", "rank"])


@pytest.fixture(scope="module")
def board_inputs():
    rng = np.random.default_rng(11)
    customers = [f"c{i}" for i in range(120)]
    products = [f"p{j}" for j in range(40)]
    test = pd.DataFrame([(u, p) for u in customers for p in rng.choice(products, rng.integers(1, 6), replace=False)],
                        columns=[U, I])
    recs = {"random": _lists(rng, customers, products, 5), "popular": _lists(rng, customers, products[:10], 5)}
    # a good model: puts one relevant product first for every customer
    good = recs["random"].copy()
    first = test.groupby(U)[I].first()
    good.loc[good["rank"] == 1, I] = first.reindex(good.loc[good["rank"] == 1, U]).to_numpy()
    recs["hybrid_tuned"] = good.drop_duplicates([U, I])
    return recs, test


def test_ndcg_equals_an_independent_brute_force(board_inputs):
    recs, test = board_inputs
    board = evaluate_leaderboard.leaderboard(recs, test, k=5, n_items=40, families=FAMILIES, n_boot=200)
    rows = board.rows.set_index("model")
    for model, r in recs.items():
        assert rows.loc[model, "ndcg@5"] == pytest.approx(brute_ndcg(r, test, 5), abs=1e-12)
    assert board.rows["ndcg@5"].is_monotonic_decreasing
    assert board.best_model == "hybrid_tuned" and board.test_customers == 120
    assert dict(zip(board.rows["model"], board.rows["family"])) == {"hybrid_tuned": "hybrid", "popular": "baseline",
                                                                     "random": "baseline"}


def test_vs_popular_is_a_paired_interval(board_inputs):
    recs, test = board_inputs
    board = evaluate_leaderboard.leaderboard(recs, test, k=5, n_items=40, families=FAMILIES, n_boot=300, seed=2)
    rows = board.rows.set_index("model")
    d = brute_ndcg(recs["hybrid_tuned"], test, 5) - brute_ndcg(recs["popular"], test, 5)
    assert rows.loc["hybrid_tuned", "vs_delta"] == pytest.approx(d)
    assert rows.loc["hybrid_tuned", "vs_low"] > 0  # a relevant product first for everyone: clearly better
    assert np.isnan(rows.loc["popular", "vs_delta"])  # the baseline is not compared with itself
    m = board.to_metrics()
    assert m["best_model"] == "hybrid_tuned" and m["test_customers"] == 120 and m["k"] == 5
    top = m["leaderboard"][0]
    assert set(top) == {"model", "family", "ndcg@5", "precision@5", "recall@5", "map@5", "coverage",
                        "customers_listed", "vs_popular"}
    by_model = {r["model"]: r for r in m["leaderboard"]}
    assert set(top["vs_popular"]) == {"delta", "low", "high"} and by_model["popular"]["vs_popular"] is None


def test_lists_that_miss_customers_of_the_population_are_an_error_naming_the_model():
    test = pd.DataFrame({U: ["a", "b"], I: ["x", "y"]})
    recs = {"ease": pd.DataFrame({U: ["a"], I: ["x"], "score": [1.0], "rank": [1]})}
    with pytest.raises(PopulationError, match=r"recs_ease has lists for 1 of the 2 customers.*missing e.g. \['b'\]"):
        evaluate_leaderboard.leaderboard(recs, test, k=3, n_items=2, families=FAMILIES, baseline=None)
    full = {"ease": pd.DataFrame({U: ["a", "b"], I: ["x", "x"], "score": [1.0, 1.0], "rank": [1, 1]})}
    board = evaluate_leaderboard.leaderboard(full, test, k=3, n_items=2, families=FAMILIES, baseline=None)
    assert board.rows.loc[0, "ndcg@3"] == pytest.approx(brute_ndcg(full["ease"], test, 3))
    assert board.rows.loc[0, "customers_listed"] == 2
    assert board.to_metrics()["population"] == {"customers": 2, "of": 2, "drawn": "every test customer"}


def test_families_come_from_the_registry():
    assert evaluate_leaderboard.family("hybrid_final", FAMILIES) == "hybrid"
    assert evaluate_leaderboard.family("basket", FAMILIES) == "basket"
    with pytest.raises(ValueError, match="register it in workbench.recommend.registry"):
        evaluate_leaderboard.family("mystery", FAMILIES)
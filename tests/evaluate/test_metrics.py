"""Ranking metrics: hand-computed tiny examples and a textbook reference on random data."""
import math

import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.evaluate import metrics as evaluate_metrics

U, I = contract.CUSTOMER_ID, contract.PRODUCT_ID


@pytest.fixture
def tiny():
    true = pd.DataFrame({U: ["a", "a", "a", "b", "c"], I: ["1", "2", "3", "9", "5"]})
    pred = pd.DataFrame({U: ["a"] * 4 + ["b"] * 2, I: ["1", "7", "3", "2", "8", "9"],
                         "rank": [1, 2, 3, 4, 1, 2], "score": [4, 3, 2, 1, 2, 1.0]})
    return true, pred


def test_per_customer_hand_computed(tiny):
    true, pred = tiny
    pc = evaluate_metrics.per_customer_metrics(true, pred, k=3).set_index(U)
    # a: relevant {1,2,3}, top-3 [1,7,3]: hits at 1 and 3
    assert pc.loc["a", "precision"] == pytest.approx(2 / 3)
    assert pc.loc["a", "recall"] == pytest.approx(2 / 3)
    assert pc.loc["a", "ap"] == pytest.approx((1 / 1 + 2 / 3) / 3)
    assert pc.loc["a", "ndcg"] == pytest.approx((1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3) + 1 / math.log2(4)))
    assert pc.loc["a", "rr"] == 1.0 and pc.loc["a", "hit"] == 1.0
    # b: relevant {9}, list [8,9] (only 2 items): precision still divides by k
    assert pc.loc["b", "precision"] == pytest.approx(1 / 3)
    assert pc.loc["b", "recall"] == 1.0
    assert pc.loc["b", "ap"] == pytest.approx(0.5)
    assert pc.loc["b", "ndcg"] == pytest.approx(1 / math.log2(3))
    assert pc.loc["b", "rr"] == 0.5
    # c has no recommendations: zeros, but still counted
    assert (pc.loc["c"] == 0).all()
    assert len(pc) == 3


def test_model_level_means_and_keys(tiny):
    true, pred = tiny
    res = evaluate_metrics.evaluate_ranking(true, pred, k=3, n_items=10)
    assert set(res) == {"precision@3", "recall@3", "map@3", "ndcg@3", "hit@3", "mrr@3", "coverage"}
    assert res["precision@3"] == pytest.approx((2 / 3 + 1 / 3 + 0) / 3)
    assert res["hit@3"] == pytest.approx(2 / 3)
    assert res["mrr@3"] == pytest.approx(0.5)
    # top-3 lists: a -> 1,7,3 ; b -> 8,9  => 5 distinct of 10
    assert res["coverage"] == pytest.approx(0.5)
    assert evaluate_metrics.precision_at_k(true, pred, k=3) == pytest.approx(res["precision@3"])
    assert evaluate_metrics.map_at_k(true, pred, k=3) == pytest.approx(res["map@3"])
    assert evaluate_metrics.ndcg_at_k(true, pred, k=3) == pytest.approx(res["ndcg@3"])
    assert evaluate_metrics.recall_at_k(true, pred, k=3) == pytest.approx(res["recall@3"])
    assert evaluate_metrics.hit_rate_at_k(true, pred, k=3) == pytest.approx(res["hit@3"])
    assert evaluate_metrics.mrr_at_k(true, pred, k=3) == pytest.approx(res["mrr@3"])


def test_rank_from_score_and_min_k_normalisation(tiny):
    true, pred = tiny
    by_score = evaluate_metrics.per_customer_metrics(true, pred.drop(columns="rank"), k=3)
    by_rank = evaluate_metrics.per_customer_metrics(true, pred, k=3)
    pd.testing.assert_frame_equal(by_score, by_rank)
    # a has 3 relevant, k=2: AP divided by min(3, 2) under min_k
    pc = evaluate_metrics.per_customer_metrics(true, pred, k=2, map_normalize="min_k").set_index(U)
    assert pc.loc["a", "ap"] == pytest.approx(1 / 2)
    with pytest.raises(ValueError):
        evaluate_metrics.per_customer_metrics(true, pred, k=2, map_normalize="x")


def test_duplicates_count_once():
    true = pd.DataFrame({U: ["a", "a"], I: ["1", "1"]})
    pred = pd.DataFrame({U: ["a", "a", "a"], I: ["1", "1", "2"], "rank": [1, 2, 3]})
    pc = evaluate_metrics.per_customer_metrics(true, pred, k=2)
    assert pc["precision"].iloc[0] == pytest.approx(0.5)  # list dedups to [1, 2]
    assert pc["recall"].iloc[0] == 1.0


def _reference(true_sets, lists, k):
    """Textbook definitions, one customer at a time (the slow, obvious way)."""
    rows = {}
    for u, rel in true_sets.items():
        lst = lists.get(u, [])[:k]
        hits = [1.0 if x in rel else 0.0 for x in lst]
        nh = sum(hits)
        prec = nh / k
        rec = nh / len(rel)
        ap, run = 0.0, 0
        for i, h in enumerate(hits, start=1):
            if h:
                run += 1
                ap += run / i
        ap /= len(rel)
        dcg = sum(h / math.log2(i + 1) for i, h in enumerate(hits, start=1))
        idcg = sum(1 / math.log2(i + 1) for i in range(1, min(len(rel), k) + 1))
        rr = next((1 / i for i, h in enumerate(hits, start=1) if h), 0.0)
        rows[u] = (prec, rec, ap, dcg / idcg, float(nh > 0), rr)
    return rows


def test_matches_textbook_reference_on_random_data():
    rng = np.random.default_rng(7)
    n_users, n_items, k = 60, 40, 7
    true_sets, lists, t_rows, p_rows = {}, {}, [], []
    for u in range(n_users):
        rel = set(rng.choice(n_items, size=rng.integers(1, 12), replace=False).tolist())
        true_sets[str(u)] = {str(x) for x in rel}
        t_rows += [(str(u), str(x)) for x in rel]
        if u % 9 == 0:
            continue  # some customers get no list
        lst = [str(x) for x in rng.permutation(n_items)[: rng.integers(1, 15)]]
        lists[str(u)] = lst
        p_rows += [(str(u), x, r) for r, x in enumerate(lst, start=1)]
    true = pd.DataFrame(t_rows, columns=[U, I])
    pred = pd.DataFrame(p_rows, columns=[U, I, "rank"]).sample(frac=1, random_state=1)  # order must not matter
    ref = _reference(true_sets, lists, k)
    pc = evaluate_metrics.per_customer_metrics(true, pred, k=k).set_index(U)
    cols = ["precision", "recall", "ap", "ndcg", "hit", "rr"]
    for u, vals in ref.items():
        np.testing.assert_allclose(pc.loc[u, cols].to_numpy(dtype=float), vals, rtol=1e-12, atol=1e-12)


def test_beyond_accuracy():
    pred = pd.DataFrame({U: ["a", "a", "b", "b"], I: ["1", "2", "1", "3"], "rank": [1, 2, 1, 2]})
    train = pd.DataFrame({U: ["x", "y", "z", "w"], I: ["1", "1", "2", "4"]})
    # p(1)=2/4, p(2)=1/4, p(3) unseen -> 1/4
    expect = np.mean([-math.log2(0.5), -math.log2(0.25), -math.log2(0.5), -math.log2(0.25)])
    assert evaluate_metrics.novelty(pred, train) == pytest.approx(expect)
    feats = pd.DataFrame({I: ["1", "2", "3"], "f1": [1.0, 1.0, 0.0], "f2": [0.0, 1.0, 1.0]})
    # a: cos(1,2)=1/sqrt2 ; b: cos(1,3)=0
    assert evaluate_metrics.intra_list_diversity(pred, feats) == pytest.approx(np.mean([1 - 1 / math.sqrt(2), 1.0]))
    assert evaluate_metrics.catalog_coverage(pred, 6) == pytest.approx(0.5)
    assert evaluate_metrics.catalog_coverage(pred, 6, k=1) == pytest.approx(1 / 6)


def test_rating_metrics():
    assert evaluate_metrics.rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(math.sqrt(4 / 3))
    assert evaluate_metrics.mae([1, 2, 3], [1, 2, 5]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        evaluate_metrics.rmse([1, 2], [1])


def test_ranking_curve_monotone_recall(tiny):
    true, pred = tiny
    cur = evaluate_metrics.ranking_curve(true, pred, ks=[1, 2, 3, 4])
    assert list(cur["k"]) == [1, 2, 3, 4]
    assert (np.diff(cur["recall"]) >= 0).all()
    for k in (1, 2, 3, 4):
        row = cur.set_index("k").loc[k]
        res = evaluate_metrics.evaluate_ranking(true, pred, k=k)
        for name in ("precision", "recall", "map", "ndcg", "hit", "mrr"):
            assert row[name] == pytest.approx(res[f"{name}@{k}"])

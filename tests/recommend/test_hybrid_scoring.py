"""The hybrid's final scoring path (dense candidate mask, one weighted sum) against the candidate-set path."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.recommend import hybrid as recommend_hybrid
from workbench.recommend.base import Recommender
from workbench.recommend.interactions import Interactions


class Scores(Recommender):
    """Fixed random scores per row, in float32 or float64, cold rows from a fixed vector."""

    name = "scores"

    def __init__(self, scores: np.ndarray):
        self.scores = scores

    def _fit(self, interactions, **context):
        assert self.scores.shape == interactions.shape

    def _score_rows(self, rows):
        return self.scores[rows]


def _setup(seed=0, n_c=60, n_p=25, candidates=5, weights=None):
    rng = np.random.default_rng(seed)
    cust = [f"u{i:02d}" for i in range(n_c)]
    prod = [f"p{j:02d}" for j in range(n_p)]
    n_hist = rng.integers(0, 12, n_c)                        # cold, warm and hot customers
    pairs = [(c, p) for c, k in zip(cust, n_hist) for p in rng.choice(prod, k, replace=False)]
    inter = Interactions.from_frame(pd.DataFrame(pairs, columns=[contract.CUSTOMER_ID, contract.PRODUCT_ID]),
                                    customers=cust, products=prod)
    comps = {"collaborative": Scores(rng.random((n_c, n_p)).astype(np.float32)),
             "content": Scores(rng.normal(size=(n_c, n_p))),
             "cluster_trending": Scores(np.round(rng.random((n_c, n_p)), 1))}   # ties
    w = weights or {"collaborative": 0.6, "content": 0.4, "cluster_trending": 0.0, "popular": 0.0}
    hyb = recommend_hybrid.HybridRecommender(comps, w, normalise="minmax", candidates=candidates, cold_max=2, hot_min=8,
                              switching={"enabled": True, "from": ["collaborative"],
                                         "to": ["cluster_trending", "popular"]}).fit(inter)
    return hyb, cust + ["stranger"]


@pytest.mark.parametrize("candidates", [5, 25, 100])
def test_recommend_equals_the_candidate_path(candidates):
    hyb, ids = _setup(candidates=candidates)
    got = hyb.recommend(ids, k=6)
    cs = hyb.candidate_set(ids)
    assert set(cs.buckets) == {"cold", "warm", "hot"}
    ref = cs.recommendations(cs.blend(hyb.weights, hyb.switching), 6)
    pd.testing.assert_frame_equal(got.reset_index(drop=True)[[contract.CUSTOMER_ID, contract.PRODUCT_ID, "rank"]],
                                  ref.reset_index(drop=True)[[contract.CUSTOMER_ID, contract.PRODUCT_ID, "rank"]],
                                  check_dtype=False)
    np.testing.assert_allclose(got["score"].to_numpy(), ref["score"].to_numpy(), rtol=1e-5)
    seen = hyb.interactions_.to_frame()
    hit = got.merge(seen, on=[contract.CUSTOMER_ID, contract.PRODUCT_ID])
    assert hit.empty                                           # bought products never come back


def test_whole_catalog_skips_weightless_components_without_changing_the_lists():
    hyb, ids = _setup(candidates=25)
    n_cold = int((hyb.candidate_set(ids).buckets == "cold").sum())
    calls = []
    comp = hyb.components["cluster_trending"]
    original = comp.score_batch
    comp.score_batch = lambda rows: calls.append(len(rows)) or original(rows)
    hyb.recommend(ids, k=5)
    assert 0 < sum(calls) == n_cold                            # only the switched cold customers score it


def test_minmax_in_place_on_scratch_scores():
    rng = np.random.default_rng(1)
    s = rng.random((4, 6)).astype(np.float32)
    ex = rng.random((4, 6)) < 0.3
    want = recommend_hybrid.normalise_rows(s, ex, "minmax")
    assert not np.shares_memory(want, s)
    got = recommend_hybrid.normalise_rows(s, ex, "minmax", copy=False)
    assert np.shares_memory(got, s)
    np.testing.assert_array_equal(got, want)


def test_float32_models_keep_float32_scores_and_lists_stay_float64():
    hyb, ids = _setup()
    comp = hyb.components["collaborative"]
    assert comp.score_batch(np.arange(3)).dtype == np.float32
    assert comp.score_batch(np.array([0, -1])).dtype == np.float64   # a cold row: popularity in float64
    assert comp.recommend(ids[:5], k=3)["score"].dtype == np.float64

"""The hybrid blend: normalisation, candidates, switching, tuning, the one builder, and a planted-truth run."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.evaluate.metrics import per_customer_metrics
from workbench.evaluate.split import drop_seen_pairs
from workbench.recommend import hybrid as recommend_hybrid
from workbench.recommend.base import Recommender
from workbench.recommend.interactions import Interactions


class Fixed(Recommender):
    """A test double: fixed scores per matrix row (known customers) and a fixed cold row."""

    name = "fixed"

    def __init__(self, scores: np.ndarray):
        self.scores = np.asarray(scores, dtype=float)

    def _fit(self, interactions, **context):
        assert self.scores.shape == interactions.shape

    def _score_rows(self, rows):
        return self.scores[rows]


def _inter(pairs, customers=("u1", "u2", "u3"), products=("a", "b", "c", "d", "e")):
    df = pd.DataFrame(pairs, columns=[contract.CUSTOMER_ID, contract.PRODUCT_ID])
    return Interactions.from_frame(df, customers=list(customers), products=list(products))


# ---- normalisation ----------------------------------------------------------------------------------
def test_normalise_rows_rank_minmax_reciprocal_by_hand():
    s = np.array([[3.0, 1.0, 2.0, 2.0, 10.0], [5.0, 5.0, 5.0, 5.0, 5.0]])
    ex = np.array([[False, False, False, False, True], [False] * 5])
    norm = recommend_hybrid.normalise_rows(s, ex, "rank")
    # row 0 without the excluded 10: ranks 1 (the 1), 2.5, 2.5 (the twos), 4 (the 3) -> (r - 1) / 3
    assert norm[0] == pytest.approx([1.0, 0.0, 0.5, 0.5, 0.0])
    assert norm[1] == pytest.approx([0.5] * 5)          # all tied: the middle
    rr = recommend_hybrid.normalise_rows(s, ex, "reciprocal")          # (c + 1) / (c + position), positions 1, 4, 2.5, 2.5
    c = recommend_hybrid.RECIPROCAL_C
    assert rr[0] == pytest.approx([1.0, (c + 1) / (c + 4), (c + 1) / (c + 2.5), (c + 1) / (c + 2.5), 0.0])
    mm = recommend_hybrid.normalise_rows(np.array([[3.0, 1.0, 2.0, 0.0, np.nan]]), np.array([[False, False, False, True, False]]),
                          "minmax")
    assert mm[0] == pytest.approx([1.0, 0.0, 0.5, 0.0, 0.0])
    assert recommend_hybrid.normalise_rows(np.array([[2.0, 2.0]]), None, "minmax")[0] == pytest.approx([1.0, 1.0])
    pos = recommend_hybrid.positions(np.array([[0.2, 0.9, 0.2, 0.0]]), np.array([[True, True, True, False]]))
    assert pos[0, :3] == pytest.approx([2.5, 1.0, 2.5]) and np.isinf(pos[0, 3])
    with pytest.raises(ValueError, match="normalise"):
        recommend_hybrid.normalise_rows(s, ex, "zscore")


def test_history_buckets_and_switching():
    b = recommend_hybrid.history_buckets([0, 2, 3, 9, 10, 50], cold_max=2, hot_min=10)
    assert list(b) == ["cold", "cold", "warm", "warm", "hot", "hot"]
    with pytest.raises(ValueError, match="hot_min"):
        recommend_hybrid.history_buckets([1], cold_max=5, hot_min=5)
    sw = recommend_hybrid.Switching(True, ("collaborative",), ("content", "popular"))
    W = sw.row_weights(np.array([0.6, 0.3, 0.1]), ["collaborative", "content", "popular"], np.array(["cold", "hot"]))
    assert W[0] == pytest.approx([0.0, 0.6, 0.4])      # 0.6 moved, split evenly over the two targets
    assert W[1] == pytest.approx([0.6, 0.3, 0.1])
    off = recommend_hybrid.Switching(False).row_weights(np.array([0.6, 0.3, 0.1]), ["collaborative", "content", "popular"],
                                         np.array(["cold"]))
    assert off[0] == pytest.approx([0.6, 0.3, 0.1])


# ---- the blend on a hand-made example ---------------------------------------------------------------
def _two_component_hybrid(**kw):
    inter = _inter([("u1", "a"), ("u2", "b"), ("u2", "c"), ("u3", "a"), ("u3", "b"), ("u3", "c")])
    x = np.array([[9, 5, 4, 3, 1], [1, 9, 8, 7, 6], [5, 4, 3, 2, 1]], dtype=float)
    y = np.array([[0, 1, 2, 3, 4], [5, 4, 3, 2, 1], [1, 2, 3, 4, 5]], dtype=float)
    hyb = recommend_hybrid.HybridRecommender({"x": Fixed(x), "y": Fixed(y)}, {"x": 0.5, "y": 0.5}, normalise="rank", candidates=2,
                              cold_max=1, hot_min=3, **kw)
    return hyb.fit(inter), x, y


def test_candidates_blend_and_recommend_agree_by_hand():
    hyb, x, y = _two_component_hybrid()
    cs = hyb.candidate_set(["u1", "u2", "zz"])
    assert cs.names == ["x", "y", "popular"]
    # u1 saw a: x ranks b > c > d > e, y ranks e > d > c > b; top-2 each -> candidates {b, c} u {d, e}
    c0 = cs.items[0][cs.valid[0]]
    assert list(cs.product_ids[c0]) == ["b", "c", "d", "e"]
    # rank-normalised over the 4 unseen products
    assert cs.scores[0, :4, 0] == pytest.approx([1.0, 2 / 3, 1 / 3, 0.0])
    assert cs.scores[0, :4, 1] == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])
    assert cs.positions[0, :4, 0] == pytest.approx([1, 2, 3, 4])
    assert cs.positions[0, :4, 1] == pytest.approx([4, 3, 2, 1])
    assert list(cs.buckets) == ["cold", "warm", "cold"]  # u1 has 1 product, u2 two, zz is unknown
    # blend without switching: an even blend scores all four 0.5; tilted to y it ranks e > d
    assert cs.blend({"x": 0.5, "y": 0.5})[0, :4] == pytest.approx([0.5] * 4)
    rec = cs.recommendations(cs.blend({"x": 0.25, "y": 0.75}), k=2)
    assert list(rec[rec[contract.CUSTOMER_ID] == "u1"][contract.PRODUCT_ID]) == ["e", "d"]
    assert rec[rec[contract.CUSTOMER_ID] == "u1"]["score"].to_numpy() == pytest.approx([0.75, 0.25 / 3 + 0.5])
    # recommend() through the base class equals the candidate path (switching on), unknown customers too
    full = hyb.recommend(["u1", "u2", "zz"], k=3)
    got = cs.recommendations(cs.blend(hyb.weights, hyb.switching), 3)
    pd.testing.assert_frame_equal(full.reset_index(drop=True), got.reset_index(drop=True), check_dtype=False)
    # seen products never come back
    seen = {("u1", "a"), ("u2", "b"), ("u2", "c")}
    assert not any((c, p) in seen for c, p in zip(full[contract.CUSTOMER_ID], full[contract.PRODUCT_ID]))


def test_unavailable_products_are_never_candidates():
    hyb, _, _ = _two_component_hybrid()
    hyb.set_unavailable(["b", "e"])
    cs = hyb.candidate_set(["u1", "zz"])
    got = set(cs.product_ids[cs.items[cs.valid]])
    assert got.isdisjoint({"b", "e"})
    rec = hyb.recommend(["u1", "zz"], k=5)
    assert set(rec[contract.PRODUCT_ID]).isdisjoint({"b", "e"})


def test_popular_is_builtin_and_components_share_the_universe():
    with pytest.raises(ValueError, match="built-in"):
        recommend_hybrid.HybridRecommender({"popular": Fixed(np.zeros((3, 5)))})
    inter = _inter([("u1", "a")])
    other = Fixed(np.zeros((3, 4))).fit(_inter([("u1", "a")], products=("a", "b", "c", "d")))
    hyb = recommend_hybrid.HybridRecommender({"x": other}, fit_components=False)
    with pytest.raises(ValueError, match="product universe"):
        hyb.fit(inter)


# ---- NDCG on candidates equals the evaluation module ---------------------------------------------------
def test_candidate_ndcg_matches_per_customer_metrics():
    rng = np.random.default_rng(3)
    n_c, n_p = 40, 30
    cust = [f"u{i:02d}" for i in range(n_c)]
    prod = [f"p{j:02d}" for j in range(n_p)]
    held = pd.DataFrame({contract.CUSTOMER_ID: np.repeat(cust, 3), contract.PRODUCT_ID: rng.choice(prod, 3 * n_c)})
    inter = Interactions.from_frame(held, customers=cust, products=prod)
    comps = {"x": Fixed(rng.random((n_c, n_p))), "y": Fixed(rng.random((n_c, n_p)))}
    hyb = recommend_hybrid.HybridRecommender(comps, {"x": 0.7, "y": 0.2, "popular": 0.1}, candidates=8).fit(inter)
    truth = pd.DataFrame({contract.CUSTOMER_ID: np.repeat(cust, 4), contract.PRODUCT_ID: rng.choice(prod, 4 * n_c)})
    truth = drop_seen_pairs(truth, held)
    cs = hyb.candidate_set(np.sort(truth[contract.CUSTOMER_ID].unique())).with_truth(truth)
    s = cs.blend(hyb.weights, hyb.switching)
    ref = per_customer_metrics(truth, cs.recommendations(s, 10), 10)["ndcg"].to_numpy()
    assert cs.ndcg(s, 10) == pytest.approx(ref)
    assert cs.n_rel.sum() == len(truth.drop_duplicates())


def test_concat_stacks_candidate_sets_row_for_row():
    rng = np.random.default_rng(5)
    cust = [f"u{i}" for i in range(6)]
    prod = [f"p{j}" for j in range(12)]
    held = pd.DataFrame({contract.CUSTOMER_ID: np.repeat(cust, 2), contract.PRODUCT_ID: rng.choice(prod, 12)})
    inter = Interactions.from_frame(held, customers=cust, products=prod)
    comps = {"x": Fixed(rng.random((6, 12))), "y": Fixed(rng.random((6, 12)))}
    truth = drop_seen_pairs(pd.DataFrame({contract.CUSTOMER_ID: np.repeat(cust, 3), contract.PRODUCT_ID: rng.choice(prod, 18)}),
                              held)
    narrow = recommend_hybrid.HybridRecommender(comps, {"x": 0.6, "y": 0.4}, candidates=2).fit(inter)
    wide = recommend_hybrid.HybridRecommender(comps, {"x": 0.6, "y": 0.4}, candidates=6).fit(inter)
    a = narrow.candidate_set(cust[:4]).with_truth(truth)
    b = wide.candidate_set(cust[2:]).with_truth(truth)
    assert a.items.shape[1] < b.items.shape[1]  # padding is exercised
    both = recommend_hybrid.CandidateSet.concat([a, b])
    assert list(both.customer_ids) == cust[:4] + cust[2:]  # a customer may appear once per fold
    assert both.items.shape == (8, b.items.shape[1]) and (both.items[:4, a.items.shape[1]:] == -1).all()
    w = {"x": 0.3, "y": 0.5, "popular": 0.2}
    assert both.ndcg(both.blend(w), 3) == pytest.approx(np.r_[a.ndcg(a.blend(w), 3), b.ndcg(b.blend(w), 3)])
    assert recommend_hybrid.CandidateSet.concat([a]) is a
    other = recommend_hybrid.HybridRecommender({"z": comps["x"]}, {"z": 1.0}).fit(inter).candidate_set(cust)
    with pytest.raises(ValueError, match="share components"):
        recommend_hybrid.CandidateSet.concat([a, other])


# ---- tuning ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["bagged", "ascent"])
def test_tuning_finds_the_informative_component(method):
    rng = np.random.default_rng(0)
    n_c, n_p = 300, 40
    cust = [f"u{i:03d}" for i in range(n_c)]
    prod = [f"p{j:02d}" for j in range(n_p)]
    inter = Interactions.from_frame(pd.DataFrame({contract.CUSTOMER_ID: cust, contract.PRODUCT_ID: ["p00"] * n_c}),
                                    customers=cust, products=prod)
    target = rng.integers(1, n_p, n_c)
    oracle = rng.random((n_c, n_p))
    oracle[np.arange(n_c), target] += 0.8                  # the wanted product usually on top
    noise = rng.random((n_c, n_p))
    hyb = recommend_hybrid.HybridRecommender({"oracle": Fixed(oracle), "noise": Fixed(noise)},
                              {"oracle": 0.2, "noise": 0.8}, candidates=40).fit(inter)
    truth = pd.DataFrame({contract.CUSTOMER_ID: cust, contract.PRODUCT_ID: np.array(prod)[target]})
    cs = hyb.candidate_set(cust).with_truth(truth)
    # popularity is constant here (everyone bought p00, which is excluded as seen): leave it out of the search
    w, trace = recommend_hybrid.tune_weights(cs, hyb.weights, k=10, n_random=50, seed=1, method=method, tune=["oracle", "noise"])
    assert sum(w.values()) == pytest.approx(1.0) and w["popular"] == 0.0
    assert w["oracle"] > 2 * w["noise"]
    alone = cs.ndcg(cs.blend({"oracle": 1.0})).mean()
    assert trace["ndcg"].iloc[-1] > trace["ndcg"].iloc[0] + 0.1     # far better than the noisy start
    assert trace["ndcg"].iloc[-1] >= 0.97 * alone
    assert recommend_hybrid.tune_weights(cs, hyb.weights, k=10, n_random=50, seed=1, method=method,
                          tune=["oracle", "noise"])[0] == w  # seeded
    with pytest.raises(ValueError, match="bagged or ascent"):
        recommend_hybrid.tune_weights(cs, hyb.weights, method="grid")


# ---- components and the split protocol ------------------------------------------------------------------
def test_build_components_from_class_paths():
    spec = {"cross_sell": {"class": "workbench.recommend.basket.BasketRecommender", "params": {"min_baskets": 3}},
            "ghost": {"class": "workbench.recommend.nowhere.Ghost"}, "off": {"class": "none"}}
    comps = recommend_hybrid.build_components(spec, skip_missing=True)
    assert list(comps) == ["cross_sell"] and comps["cross_sell"].min_baskets == 3
    with pytest.raises(ImportError, match="class path"):
        recommend_hybrid.build_components(spec, skip_missing=False)
    with pytest.raises(TypeError, match="not a Recommender"):
        recommend_hybrid.build_components({"x": {"class": "workbench.recommend.interactions.Interactions",
                                  "params": {"matrix": None, "customer_ids": None, "product_ids": None}}})


def test_build_hybrid_fits_its_components_and_reuses_fitted_ones(small_shop):
    """The one builder: every component fitted on the given interactions, a fitted twin reused as it is."""
    from workbench.recommend.cf import EASE

    tx = small_shop.transactions
    inter = Interactions.from_transactions(tx, weight="binary", products=small_shop.products[contract.PRODUCT_ID])
    cfg = {**recommend_hybrid.DEFAULTS, "components": {"collaborative": {"class": "workbench.recommend.cf.EASE"},
                                        "trending": {"class": "workbench.recommend.baselines.MostPopular",
                                                     "params": {"window_days": 30}}}}
    context = {"transactions": tx, "products": small_shop.products, "history": tx}
    twin = EASE().fit(inter)
    other_matrix = EASE().fit(Interactions.from_transactions(tx, weight="binary",
                                                             products=small_shop.products[contract.PRODUCT_ID]))
    hyb = recommend_hybrid.build_hybrid(cfg, inter, context, fitted=[other_matrix, twin], weights={"collaborative": 1.0})
    assert hyb.components["collaborative"] is twin  # same class, settings and interactions: reused
    assert hyb.components["trending"].interactions_ is inter and hyb.interactions_ is inter
    assert hyb.weights == {"collaborative": 1.0} and not hyb.fit_components
    fresh = recommend_hybrid.build_hybrid(cfg, inter, context, weights={"collaborative": 1.0})
    assert fresh.components["collaborative"] is not twin
    ids = inter.customer_ids[:50]
    pd.testing.assert_frame_equal(hyb.recommend(ids, k=10), fresh.recommend(ids, k=10))
    # params_from blocks resolve against the whole params dict
    spec = recommend_hybrid.component_specs({"components": {"x": {"class": "a.B", "params_from": "basket",
                                                   "params": {"min_lift": 2.0}}}},
                             {"basket": {"min_support": 0.01, "min_lift": 1.0}})
    assert spec["x"]["params"] == {"min_support": 0.01, "min_lift": 2.0}  # own params win

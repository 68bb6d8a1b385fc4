"""The LGBMRanker re-ranker learns what the blend misses (here: the customer's category)."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.recommend import hybrid
from workbench.recommend.base import Recommender
from workbench.recommend.interactions import Interactions
from workbench.recommend.rerank import LearnedReranker, category_share, product_table


class Noise(Recommender):
    name = "noise"

    def __init__(self, seed: int = 0):
        self.seed = seed

    def _fit(self, interactions, **context):
        self.s_ = np.random.default_rng(self.seed).random(interactions.shape)

    def _score_rows(self, rows):
        return self.s_[rows]


def _world(seed: int, n_c: int = 400, n_p: int = 60, n_cat: int = 6):
    """Each customer bought 3 products of one category and will buy another product of that category."""
    rng = np.random.default_rng(seed)
    cust = [f"u{i:03d}" for i in range(n_c)]
    prod = [f"p{j:02d}" for j in range(n_p)]
    cat = np.arange(n_p) % n_cat
    products = pd.DataFrame({contract.PRODUCT_ID: prod, contract.CATEGORY: [f"c{c}" for c in cat], contract.PRICE: 1.0 + np.arange(n_p)})
    fav = rng.integers(0, n_cat, n_c)
    rows, truth = [], []
    for i in range(n_c):  # test fixture: a few hundred customers
        pool = rng.permutation(np.flatnonzero(cat == fav[i]))
        rows += [(cust[i], prod[j]) for j in pool[:3]]
        truth.append((cust[i], prod[pool[3]]))
    held = pd.DataFrame(rows, columns=[contract.CUSTOMER_ID, contract.PRODUCT_ID])
    inter = Interactions.from_frame(held, customers=cust, products=prod)
    hyb = hybrid.HybridRecommender({"noise": Noise(seed)}, {"noise": 1.0}, candidates=60).fit(inter)
    cs = hyb.candidate_set(cust).with_truth(pd.DataFrame(truth, columns=[contract.CUSTOMER_ID, contract.PRODUCT_ID]))
    return hyb, cs, products


def test_features_are_aligned_with_the_candidates():
    hyb, cs, products = _world(0, n_c=20)
    pt = product_table(hyb, products)
    assert list(pt.columns) == ["category", "log_price", "log_popularity"]
    share = category_share(hyb, cs.customer_ids, pt["category"].to_numpy())
    assert share.sum(axis=1) == pytest.approx(np.ones(20)) and share.max(axis=1) == pytest.approx(np.ones(20))
    rr = LearnedReranker(depth=10)
    base = cs.blend({"noise": 1.0})
    X, cols, ok = rr.features(cs, base, hyb, products)
    assert X.shape == (20 * 10, len(rr.feature_names(cs))) and ok.all()
    assert X[:10, rr.feature_names(cs).index("base_rank")] == pytest.approx(np.arange(1, 11))


def test_reranker_learns_category_affinity_and_is_deterministic():
    hyb_tr, cs_tr, products = _world(1)
    hyb_te, cs_te, _ = _world(2)
    base_tr, base_te = cs_tr.blend({"noise": 1.0}), cs_te.blend({"noise": 1.0})
    rr = LearnedReranker(depth=40, n_estimators=60, min_child_samples=20).fit(cs_tr, base_tr, hyb_tr, products)
    learned = rr.scores(cs_te, base_te, hyb_te, products)
    before, after = cs_te.ndcg(base_te).mean(), cs_te.ndcg(learned).mean()
    assert after > before + 0.2            # the category share feature is what matters
    assert rr.importance().index[0] == "category_share"
    again = LearnedReranker(depth=40, n_estimators=60, min_child_samples=20).fit(cs_tr, base_tr, hyb_tr, products)
    assert np.array_equal(again.scores(cs_te, base_te, hyb_te, products), learned)
    outside = np.ones(base_te.shape, dtype=bool)
    np.put_along_axis(outside, np.argsort(-base_te, axis=1, kind="stable")[:, :40], False, axis=1)
    assert np.isinf(learned[outside]).all()    # only the top-depth candidates are re-ranked
    with pytest.raises(RuntimeError, match="not fitted"):
        LearnedReranker().scores(cs_te, base_te, hyb_te, products)


def test_reranker_pools_folds_and_one_fold_is_fit():
    hyb_a, cs_a, products = _world(1, n_c=150)
    hyb_b, cs_b, _ = _world(3, n_c=150)
    hyb_te, cs_te, _ = _world(2, n_c=150)
    base_a, base_b, base_te = (c.blend({"noise": 1.0}) for c in (cs_a, cs_b, cs_te))
    kw = dict(depth=40, n_estimators=40, min_child_samples=20)
    one = LearnedReranker(**kw).fit(cs_a, base_a, hyb_a, products)
    same = LearnedReranker(**kw).fit_folds([(cs_a, base_a, hyb_a)], products)
    assert np.array_equal(one.scores(cs_te, base_te, hyb_te, products), same.scores(cs_te, base_te, hyb_te, products))
    pooled = LearnedReranker(**kw).fit_folds([(cs_a, base_a, hyb_a), (cs_b, base_b, hyb_b)], products)
    assert pooled.n_queries_ == one.n_queries_ + LearnedReranker(**kw).fit(cs_b, base_b, hyb_b, products).n_queries_
    assert not np.array_equal(pooled.scores(cs_te, base_te, hyb_te, products),
                              one.scores(cs_te, base_te, hyb_te, products))
    with pytest.raises(ValueError, match="relevance labels"):
        LearnedReranker(**kw).fit_folds([(hyb_a.candidate_set(cs_a.customer_ids), base_a, hyb_a)], products)


def test_no_validation_customer_to_learn_from_skips_the_reranker_with_its_reason():
    """A tiny shop whose validation customers' relevant products are never among their candidates: the re-ranker
    says why it cannot learn (a stated skip of hybrid.reranker), not a bare ValueError."""
    from workbench.errors import StageSkipped

    hyb, cs, products = _world(4, n_c=30)
    gone = pd.DataFrame({contract.CUSTOMER_ID: cs.customer_ids, contract.PRODUCT_ID: "not-in-the-catalog"})
    blind = hyb.candidate_set(cs.customer_ids).with_truth(gone)
    with pytest.raises(StageSkipped, match="none of the 30 has one") as caught:
        LearnedReranker(depth=10).fit_folds([(blind, blind.blend({"noise": 1.0}), hyb)], products)
    assert caught.value.stage == "hybrid.reranker"

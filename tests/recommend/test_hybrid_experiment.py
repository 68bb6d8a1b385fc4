"""Notebook 05's experiment end to end on a small synthetic shop: contract names, rules and planted bundles."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract as C
from workbench.recommend import rules as R
from workbench.recommend.hybrid_experiment import REC_COLUMNS, HybridExperiment, component_specs, paired_sample_size

STEPS = ["fit_validation", "tune", "fit_reranker", "fit_test", "evaluate", "ablation", "by_history", "apply_rules",
         "impact"]


@pytest.fixture(scope="module")
def experiment(small_shop):
    cfg = {"tuning": {"n_random": 60, "n_bags": 50}, "bootstrap": {"n_boot": 200}}
    ex = HybridExperiment(small_shop, cfg, params=None, segments=None, seed=42)
    for step in STEPS:
        getattr(ex, step)()
    ex.recs_final = ex.production()
    return ex


def test_component_specs_merge_params_from_blocks():
    cfg = {"components": {"cross_sell": {"class": "a.B", "params_from": "basket", "params": {"min_lift": 2.0}},
                          "seasonal": {"class": "a.S", "params_from": "context.seasonal"}, "x": "a.X"}}
    params = {"basket": {"min_support": 0.01, "min_lift": 1.0}, "context": {"seasonal": {"back_days": 7}}}
    spec = component_specs(cfg, params)
    assert spec["cross_sell"]["params"] == {"min_support": 0.01, "min_lift": 2.0}  # own params win
    assert spec["seasonal"]["params"] == {"back_days": 7}
    assert spec["x"] == {"class": "a.X", "params": {}}


def test_metrics_carry_the_contract_names(experiment):
    m = experiment.metrics()
    assert set(m["weights"]) == {"default", "tuned"}
    assert m["weights"]["default"]["collaborative"] == 0.30 and m["weights"]["default"]["cross_sell"] == 0.20
    assert sum(m["weights"]["tuned"].values()) == pytest.approx(1.0)
    assert set(m["ndcg@10"]) == {"default", "tuned", "learned"}
    assert set(m["components"]) == {"collaborative", "content", "cross_sell", "seasonal", "price_affinity",
                                    "cluster_trending", "trending"}
    assert 0 <= m["popular"] <= 1
    for comp, v in m["ablation"].items():
        assert set(v) == {"delta", "low", "high"} and v["low"] <= v["delta"] <= v["high"]
    assert set(m["by_history"]) <= {"cold", "warm", "hot"}
    assert sum(b["n"] for b in m["by_history"].values()) == m["n_customers"]
    ab = m["ab_test"]
    assert {"lift", "low", "high", "power", "n_needed", "conversion", "revenue"} <= set(ab)
    assert 0 <= ab["power"] <= 1
    # the variant table reproduces metrics computed independently from the saved lists
    from workbench.evaluate.metrics import ndcg_at_k
    truth = experiment.split().truth
    assert m["ndcg@10"]["tuned"] == pytest.approx(ndcg_at_k(truth, experiment.recs["tuned"], 10))


def test_final_lists_respect_the_business_rules(experiment, small_shop):
    recs = experiment.recs_final
    assert list(recs.columns[:len(REC_COLUMNS)]) == list(REC_COLUMNS)
    assert set(recs[C.CUSTOMER_ID]) == set(small_shop.customers[C.CUSTOMER_ID].astype(str))
    assert recs.groupby(C.CUSTOMER_ID).size().max() == 10
    assert recs["confidence"].between(0, 1).all() and (recs["explanation"].str.len() > 0).all()
    assert not recs["explanation"].str.contains("{", regex=False).any()
    bought = small_shop.transactions[small_shop.transactions[C.QUANTITY] > 0]
    seen = pd.MultiIndex.from_frame(bought[[C.CUSTOMER_ID, C.PRODUCT_ID]].astype(str))
    assert not pd.MultiIndex.from_frame(recs[[C.CUSTOMER_ID, C.PRODUCT_ID]]).isin(seen).any()
    gone = R.unavailable_products(small_shop.prices)
    assert len(gone) > 0 and not recs[C.PRODUCT_ID].isin(gone).any()
    per_cat = recs.groupby([C.CUSTOMER_ID, C.CATEGORY]).size()
    assert per_cat.max() <= experiment.cfg["rules"]["max_per_category"]
    assert (recs.groupby(C.CUSTOMER_ID)["score"].apply(lambda s: s.is_monotonic_decreasing)).all()


def test_cross_sell_explanations_name_planted_bundles(experiment, small_shop):
    """Planted truth: "often bought together with X" names X = the planted partner of the product far more
    often than chance (baskets also hold co-bought favourites of customers with the same taste, so not
    every basket rule is a planted bundle)."""
    recs = experiment.recs_final
    b = small_shop.truth["bundles"]
    pairs = set(zip(b["product_a"], b["product_b"])) | set(zip(b["product_b"], b["product_a"]))
    prefix = "often bought together with "
    cs = recs[recs["reason"] == "cross_sell"]
    named = cs[cs["explanation"].str.startswith(prefix)]
    assert len(cs) >= 30 and len(named) >= 0.5 * len(cs)
    name_to_id = small_shop.products.drop_duplicates(C.NAME).set_index(C.NAME)[C.PRODUCT_ID]
    held = name_to_id.reindex(named["explanation"].str.slice(len(prefix))).to_numpy()
    rate = np.mean([(h, p) in pairs for h, p in zip(held, named[C.PRODUCT_ID])])
    n = small_shop.products.shape[0]
    assert rate > 0.1 > 30 * len(pairs) / (n * (n - 1))  # far above the chance rate of a random pair


def test_ablation_and_rules_tables(experiment):
    abl = experiment.ablation_table
    assert list(abl["component"])[:2] == ["collaborative", "content"]
    assert (abl.loc[abl["weight"] == 0, "delta"] == 0).all()
    r = experiment.rules_metrics
    assert r["unavailable_products"] > 0 and r["intra_list_diversity"] >= r["intra_list_diversity_before"] - 1e-9
    assert r["max_per_category_seen"] <= experiment.cfg["rules"]["max_per_category"]


def test_customer_sample_and_chunked_final_lists(small_shop):
    cfg = {"tuning": {"n_random": 20, "n_bags": 20}, "bootstrap": {"n_boot": 50}, "max_customers": 40,
           "chunk_customers": 70}
    ex = HybridExperiment(small_shop, cfg, params=None, segments=None, seed=1)
    ex.fit_validation()
    ex.tune()
    ex.fit_test()
    table = ex.evaluate()
    assert len(ex.cs) == 40 and len(ex.val_cs) == 40 and len(ex.per_customer) == 40
    assert set(ex.split().truth[C.CUSTOMER_ID]) == set(ex.cs.customer_ids)
    assert table.loc["tuned", "ndcg@10"] == pytest.approx(ex.per_customer["tuned"].mean())
    chunked = ex.production()
    ex.cfg["chunk_customers"] = 10 ** 6
    pd.testing.assert_frame_equal(chunked, ex.production())


def test_validation_folds_are_earlier_cut_offs_of_train_and_pooled(small_shop):
    cfg = {"tuning": {"n_random": 20, "n_bags": 20}, "reranker": {"n_estimators": 10, "min_child_samples": 5},
           "validation": {"folds": 3}}
    ex = HybridExperiment(small_shop, cfg, params=None, segments=None, seed=1)
    ex.fit_validation()
    assert len(ex.val_folds) == 3
    assert len(ex.val_cs) == sum(len(cs) for _, _, cs in ex.val_folds) > len(ex.val_folds[0][2])
    test_train_end = pd.to_datetime(ex.split().train_tx[C.TIMESTAMP]).max()
    ends = [pd.to_datetime(vs.train_tx[C.TIMESTAMP]).max() for vs, _, _ in ex.val_folds]
    assert test_train_end >= ends[0] >= ends[1] >= ends[2]
    for (outer, _, _), (inner, _, _) in zip(ex.val_folds, ex.val_folds[1:]):  # nested: each fold inside the last
        assert len(inner.train_tx) < len(outer.train_tx)
        assert inner.train_tx.index.isin(outer.train_tx.index).all()
    test_pairs = set(map(tuple, ex.split().truth[[C.CUSTOMER_ID, C.PRODUCT_ID]].to_numpy()))
    for vs, _, _ in ex.val_folds:  # no test-split row is ever in a validation fold
        assert vs.train_tx.index.isin(ex.split().train_tx.index).all()
        assert not test_pairs & set(map(tuple, vs.truth[[C.CUSTOMER_ID, C.PRODUCT_ID]].to_numpy()))
    ex.tune()
    rr = ex.fit_reranker()
    single = HybridExperiment(small_shop, {**cfg, "validation": {"folds": 1}}, params=None, segments=None, seed=1)
    single.fit_validation()
    single.tune()
    assert rr.n_queries_ > single.fit_reranker().n_queries_  # the re-ranker learns from every fold
    # fold 1 is the single-fold validation split, exactly
    pd.testing.assert_frame_equal(ex.val_folds[0][0].truth, single.val_split.truth)


def test_paired_sample_size_by_hand():
    d = np.array([0.1, -0.1, 0.3, 0.1])  # mean 0.1, sd 0.163299 (ddof 1)
    # ((1.959964 + 0.841621) * 0.163299 / 0.1) ** 2 = 20.93 -> 21
    assert paired_sample_size(d, 0.05, 0.8) == 21
    assert paired_sample_size(np.zeros(5)) == float("inf")
    assert paired_sample_size(d, 0.05, 0.9) > 21

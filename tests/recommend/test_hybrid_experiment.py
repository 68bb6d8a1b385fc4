"""Notebook 05's experiment end to end on a small synthetic shop: contract names, rules and planted bundles."""
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from workbench.data import contract as data_contract
from workbench.errors import ConfigError
from workbench.recommend import rules as recommend_rules
from workbench.evaluate.significance import paired_sample_size
from workbench.recommend.hybrid_experiment import REC_COLUMNS, HybridExperiment
from workbench.segment.segmenter import Segmenter

FAST = {"hybrid": {"tuning": {"n_random": 60, "n_bags": 50}}, "evaluation": {"n_boot": 200}, "seed": 42}


@pytest.fixture(scope="module")
def experiment(small_shop):
    """Every step on the small shop, each step's result kept (the way notebook 05 runs them); no segments
    (cluster trending is one global group), as on data without a segmentation."""
    ex = HybridExperiment(small_shop, FAST)
    r = {"validation": ex.fit_validation()}
    r["tuning"] = ex.tune(r["validation"])
    r["reranker"] = ex.fit_reranker(r["validation"], r["tuning"])
    r["test"] = ex.evaluate(r["tuning"], r["reranker"])
    r["ablation"] = ex.ablation(r["test"], r["tuning"])
    r["history"] = ex.by_history(r["test"], r["tuning"])
    r["choice"] = ex.choose_rules(r["validation"], r["tuning"], r["reranker"])
    r["rules"] = ex.apply_rules(r["test"], r["tuning"], r["reranker"])
    r["impact"] = ex.impact(r["test"], r["rules"])
    r["final"] = ex.production(r["tuning"], r["reranker"])
    # the final lists under the design-brief weights (cross-sell 0.20, whatever tuning chose on this small shop)
    chosen = ex.choice  # lists from the blend (whichever variant validation chose), with the rules as chosen
    ex.choice = replace(chosen, strength=replace(chosen.strength, variant="tuned"))
    r["final_default"] = ex.production(replace(r["tuning"], weights=r["tuning"].default_weights))
    ex.choice = chosen
    r["metrics"] = ex.metrics(r["validation"], r["tuning"], r["test"], r["ablation"], r["history"], r["rules"],
                              r["impact"])
    return ex, r


def test_metrics_carry_the_contract_names(experiment):
    ex, r = experiment
    m = r["metrics"]
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
    truth = ex.holdout.test
    assert m["ndcg@10"]["tuned"] == pytest.approx(ndcg_at_k(truth, r["test"].recs["tuned"], 10))
    lists = ex.recommendation_lists(r["test"], r["rules"])
    assert sorted(lists) == ["hybrid_default", "hybrid_final", "hybrid_learned", "hybrid_tuned"]
    assert m["rules"]["ndcg@10"] == pytest.approx(ndcg_at_k(truth, lists["hybrid_final"], 10))
    for recs in lists.values():
        assert list(recs.columns) == [data_contract.CUSTOMER_ID, data_contract.PRODUCT_ID, "score", "rank"]
        assert set(recs[data_contract.CUSTOMER_ID]) == set(ex.holdout.customers)  # top K for every test customer


def test_metrics_gather_only_the_steps_that_ran(experiment):
    ex, r = experiment
    m = ex.metrics(r["validation"], r["tuning"], r["test"])
    assert not {"ablation", "by_history", "rules", "revenue", "ab_test"} & set(m)
    assert m["ndcg@10"] == r["metrics"]["ndcg@10"]


def test_final_lists_respect_the_business_rules(experiment, small_shop):
    ex, r = experiment
    recs = r["final"]
    assert list(recs.columns[:len(REC_COLUMNS)]) == list(REC_COLUMNS)
    assert set(recs[data_contract.CUSTOMER_ID]) == set(small_shop.customers[data_contract.CUSTOMER_ID].astype(str))
    assert recs.groupby(data_contract.CUSTOMER_ID).size().max() == 10
    assert recs["confidence"].between(0, 1).all() and (recs["explanation"].str.len() > 0).all()
    assert not recs["explanation"].str.contains("{", regex=False).any()
    bought = small_shop.transactions[small_shop.transactions[data_contract.QUANTITY] > 0]
    seen = pd.MultiIndex.from_frame(bought[[data_contract.CUSTOMER_ID, data_contract.PRODUCT_ID]].astype(str))
    assert not pd.MultiIndex.from_frame(recs[[data_contract.CUSTOMER_ID, data_contract.PRODUCT_ID]]).isin(seen).any()
    gone = recommend_rules.unavailable_products(small_shop.prices)
    assert len(gone) > 0 and not recs[data_contract.PRODUCT_ID].isin(gone).any()
    per_cat = recs.groupby([data_contract.CUSTOMER_ID, data_contract.CATEGORY]).size()
    assert per_cat.max() <= (ex.strength().max_per_category or 10)
    assert (recs.groupby(data_contract.CUSTOMER_ID)["score"].apply(lambda s: s.is_monotonic_decreasing)).all()


def test_cross_sell_explanations_name_planted_bundles(experiment, small_shop):
    """Planted truth: "often bought together with X" names X = the planted partner of the product far more
    often than chance (baskets also hold co-bought favourites of customers with the same taste, so not
    every basket rule is a planted bundle)."""
    recs = experiment[1]["final_default"]
    b = small_shop.truth["bundles"]
    pairs = set(zip(b["product_a"], b["product_b"])) | set(zip(b["product_b"], b["product_a"]))
    prefix = "often bought together with "
    cs = recs[recs["reason"] == "cross_sell"]
    named = cs[cs["explanation"].str.startswith(prefix)]
    assert len(cs) >= 30 and len(named) >= 0.5 * len(cs)
    name_to_id = small_shop.products.drop_duplicates(data_contract.NAME).set_index(data_contract.NAME)[data_contract.PRODUCT_ID]
    held = name_to_id.reindex(named["explanation"].str.slice(len(prefix))).to_numpy()
    rate = np.mean([(h, p) in pairs for h, p in zip(held, named[data_contract.PRODUCT_ID])])
    n = small_shop.products.shape[0]
    assert rate > 0.1 > 30 * len(pairs) / (n * (n - 1))  # far above the chance rate of a random pair


def test_ablation_and_rules_tables(experiment):
    ex, r = experiment
    abl = r["ablation"].tuned
    assert list(abl["component"])[:2] == ["collaborative", "content"]
    assert (abl.loc[abl["weight"] == 0, "delta"] == 0).all()
    rm = r["rules"].metrics
    assert rm["unavailable_products"] > 0 and rm["intra_list_diversity"] >= rm["intra_list_diversity_before"] - 1e-9
    assert rm["max_per_category_seen"] <= (ex.strength().max_per_category or 10)


def test_no_test_period_purchase_reaches_the_segments(small_shop):
    """The segmenter sees each training part only: no transaction of a test basket, and never the full data."""
    segmenter = Segmenter(None, small_shop.customers, small_shop.products, seed=42)
    seen = []
    params = {**FAST, "evaluation": {**FAST["evaluation"], "validation": {"folds": 2}}}
    ex = HybridExperiment(small_shop, params, segmenter=lambda tx: seen.append(tx) or segmenter(tx))
    validation = ex.fit_validation()
    tuning = ex.tune(validation)
    test = ex.evaluate(tuning)
    ex.choose_rules(validation, tuning)  # on the folds' own segments: no other segmenter call
    ex.apply_rules(test, tuning)
    assert len(seen) == 2 + 1  # two validation folds, the test fit (the rules reuse its segments)
    sales = small_shop.transactions[small_shop.transactions[data_contract.QUANTITY] > 0]
    test_lines = sales[~sales[data_contract.TRANSACTION_ID].isin(ex.holdout.train[data_contract.TRANSACTION_ID])]  # the held-out baskets
    assert len(test_lines) > 0
    for tx in seen:
        assert not tx[data_contract.TRANSACTION_ID].isin(test_lines[data_contract.TRANSACTION_ID]).any()
        assert len(tx) < len(sales)
    # each fit's segments come from exactly its own training part
    for fold, tx in zip(validation.folds, seen):
        assert set(tx[data_contract.TRANSACTION_ID]) == set(fold.holdout.train[data_contract.TRANSACTION_ID])
    assert set(seen[2][data_contract.TRANSACTION_ID]) == set(ex.holdout.train[data_contract.TRANSACTION_ID])


def test_customer_sample_and_chunked_final_lists(small_shop):
    params = {"hybrid": {"tuning": {"n_random": 20, "n_bags": 20}, "chunk_customers": 70},
              "evaluation": {"n_boot": 50, "max_customers": 40}, "seed": 1}
    ex = HybridExperiment(small_shop, params)
    validation = ex.fit_validation()
    tuning = ex.tune(validation)
    test = ex.evaluate(tuning)
    assert len(test.candidates) == 40 and len(validation.candidates) == 40 and len(test.per_customer) == 40
    assert set(ex.holdout.test[data_contract.CUSTOMER_ID]) == set(test.candidates.customer_ids)
    assert test.table.loc["tuned", "ndcg@10"] == pytest.approx(test.per_customer["tuned"].mean())
    assert ex.holdout.population.customers == 40 and ex.holdout.population.of > 40
    ex.choose_rules(validation, tuning)
    chunked = ex.production(tuning)
    ex.cfg["chunk_customers"] = 10 ** 6
    pd.testing.assert_frame_equal(chunked, ex.production(tuning))


def test_the_retired_hybrid_sample_key_names_the_evaluation_key(small_shop):
    with pytest.raises(ConfigError, match="'hybrid.max_customers' is now 'evaluation.max_customers'"):
        HybridExperiment(small_shop, {"hybrid": {"max_customers": 40}})


def test_validation_folds_are_earlier_cut_offs_of_train_and_pooled(small_shop):
    params = {"hybrid": {"tuning": {"n_random": 20, "n_bags": 20},
                         "reranker": {"n_estimators": 10, "min_child_samples": 5}},
              "evaluation": {"validation": {"folds": 3}}, "seed": 1}
    ex = HybridExperiment(small_shop, params)
    validation = ex.fit_validation()
    folds = validation.folds
    assert len(folds) == 3
    assert len(validation.candidates) == sum(len(f.candidates) for f in folds) > len(folds[0].candidates)
    test_train_end = pd.to_datetime(ex.holdout.train[data_contract.TIMESTAMP]).max()
    ends = [pd.to_datetime(f.holdout.train[data_contract.TIMESTAMP]).max() for f in folds]
    assert test_train_end >= ends[0] >= ends[1] >= ends[2]
    for outer, inner in zip(folds, folds[1:]):  # nested: each fold inside the last
        assert len(inner.holdout.train) < len(outer.holdout.train)
        assert inner.holdout.train[data_contract.TRANSACTION_ID].isin(outer.holdout.train[data_contract.TRANSACTION_ID]).all()
    test_pairs = set(map(tuple, ex.holdout.test[[data_contract.CUSTOMER_ID, data_contract.PRODUCT_ID]].to_numpy()))
    for f in folds:  # no test-split row is ever in a validation fold
        assert f.holdout.train[data_contract.TRANSACTION_ID].isin(ex.holdout.train[data_contract.TRANSACTION_ID]).all()
        assert not test_pairs & set(map(tuple, f.holdout.test[[data_contract.CUSTOMER_ID, data_contract.PRODUCT_ID]].to_numpy()))
    tuning = ex.tune(validation)
    rr = ex.fit_reranker(validation, tuning)
    single = HybridExperiment(small_shop, {**params, "evaluation": {"validation": {"folds": 1}}})
    single_validation = single.fit_validation()
    single_tuning = single.tune(single_validation)
    assert rr.n_queries_ > single.fit_reranker(single_validation, single_tuning).n_queries_  # every fold
    # fold 1 is the single-fold validation split, exactly
    pd.testing.assert_frame_equal(folds[0].holdout.test, single_validation.folds[0].holdout.test)


def test_paired_sample_size_by_hand():
    d = np.array([0.1, -0.1, 0.3, 0.1])  # mean 0.1, sd 0.163299 (ddof 1)
    # ((1.959964 + 0.841621) * 0.163299 / 0.1) ** 2 = 20.93 -> 21
    assert paired_sample_size(d, 0.05, 0.8) == 21
    assert paired_sample_size(np.zeros(5)) == float("inf")
    assert paired_sample_size(d, 0.05, 0.9) > 21


def test_rules_start_from_the_best_validation_variant_within_the_budget(experiment):
    """The start variant is the validation argmax; the chosen strengths' validation loss (its upper bound) is within
    hybrid.rules.max_ndcg_loss; the test costs table's last row is the shipped lists."""
    ex, r = experiment
    ch = r["choice"]
    assert ch.strength.variant == max(ch.variants, key=ch.variants.get)
    assert set(ch.variants) == {"default", "tuned", "learned"}
    chosen = ch.trace[ch.trace["chosen"]]
    assert len(chosen) == 1
    if ch.within_budget:
        assert chosen["loss_high"].iloc[0] <= ex.cfg["rules"]["max_ndcg_loss"] + 1e-12
    rm = r["rules"].metrics
    assert rm["variant"] == ch.strength.variant and rm["chosen_on"]["variant"] == "validation"
    costs = r["rules"].costs.set_index("rule")
    assert costs.loc["all_rules", "ndcg@10"] == pytest.approx(rm["ndcg@10"])
    assert costs.loc["start", "ndcg@10"] == pytest.approx(rm["ndcg@10_before"])
    assert costs.loc["all_rules", "ndcg_delta"] == pytest.approx(rm["delta"])


def test_rule_strengths_set_by_hand_are_kept(small_shop):
    params = {**FAST, "hybrid": {**FAST["hybrid"], "final": "tuned",
                                 "rules": {"max_per_category": 3, "boost": 0.05}}}
    ex = HybridExperiment(small_shop, params)
    validation = ex.fit_validation()
    tuning = ex.tune(validation)
    with pytest.raises(ValueError, match="choose_rules"):
        HybridExperiment(small_shop, FAST).strength()
    assert ex.strength().as_dict() == {"variant": "tuned", "diversity": "max_per_category", "max_per_category": 3,
                                       "mmr_lambda": 1.0, "boost": 0.05}
    ch = ex.choose_rules(validation, tuning)
    assert ch.strength == ex.strength() and len(ch.trace) == 1
    assert ch.as_metrics()["chosen_on"] == {"max_per_category": "hand", "boost": "hand", "variant": "hand"}


def test_side_information_ablation_compares_the_reranker_with_and_without(experiment):
    """Customer and product attributes enter as categorical LightGBM features; the ablation fits the other setting
    on the same folds and its 'all' row is the mean of the buckets' rows weighted by their customers."""
    ex, r = experiment
    table = ex.side_info_ablation(r["validation"], r["tuning"], r["test"], r["reranker"])
    assert r["test"].table.loc["learned", "ndcg@10"] == pytest.approx(table.loc["all", "with_side_info"])
    buckets = table.drop(index="all")
    assert buckets["n"].sum() == table.loc["all", "n"]
    for col in ("with_side_info", "without_side_info"):
        assert (buckets[col] * buckets["n"]).sum() / buckets["n"].sum() == pytest.approx(table.loc["all", col])
    side = r["reranker"]
    assert side.side_info
    side = side.clone().fit_folds(
        [(f.candidates, f.candidates.blend(r["tuning"].weights), f.hybrid, ex._side(f.segments))
         for f in r["validation"].folds], ex.shop.products)
    assert {"customer_age", "customer_gender", "product_category"} <= set(side.feature_names_)
    assert set(side.encoder_.categorical) >= {"customer_gender", "product_category"}
    assert "customer_age" not in side.encoder_.categorical

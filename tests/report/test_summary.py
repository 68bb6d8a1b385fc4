"""The executive summary and result tables are read from metrics.json, and say plainly what did not run."""
from __future__ import annotations

import copy

import pytest

from workbench.report import summary as report_summary


def test_get_walks_dotted_paths(full_metrics):
    assert report_summary.get(full_metrics, "segmentation.clv.alpha") == 4.4
    assert report_summary.get(full_metrics, "segmentation.nope.x", "d") == "d"
    assert report_summary.get({"a": 1}, "a.b") is None


def test_model_table_sorted_by_ndcg_and_best_model(full_metrics):
    t = report_summary.model_table(full_metrics)
    assert list(t.index) == ["ease", "item_knn", "popular", "random"]
    assert list(t.columns) == ["ndcg@10", "precision@10", "recall@10", "map@10", "coverage"]
    assert report_summary.best_model(full_metrics) == ("ease", 0.16)
    assert report_summary.best_model(full_metrics, "coverage") == ("random", 1.0)
    assert report_summary.popular_model(full_metrics) == "popular"


def test_best_model_ties_break_by_name_and_missing_is_none():
    m = {"recommenders": {"b": {"ndcg@10": 0.2}, "a": {"ndcg@10": 0.2}, "c": {"ndcg@10": None}}}
    assert report_summary.best_model(m) == ("a", 0.2)
    assert report_summary.best_model({}) is None
    assert report_summary.best_model({"recommenders": {"x": {"ndcg@10": None}}}) is None


def test_k_comes_from_the_run_not_a_constant(full_metrics):
    five = {m: {k.replace("@10", "@5"): v for k, v in row.items()} for m, row in full_metrics["recommenders"].items()}
    m = {"recommenders": five}
    assert report_summary.metric_k(m) == 5 and report_summary.best_model(m) == ("ease", 0.16)
    assert list(report_summary.model_table(m).columns) == ["ndcg@5", "precision@5", "recall@5", "map@5", "coverage"]
    assert report_summary.metric_k({"evaluation": {"k": 20}, "recommenders": five}) == 20


LEADERBOARD = {"k": 10, "test_customers": 500, "best_model": "hybrid_tuned", "leaderboard": [
    {"model": "hybrid_tuned", "family": "hybrid", "ndcg@10": 0.20, "precision@10": 0.05, "recall@10": 0.3,
     "map@10": 0.1, "coverage": 0.2, "vs_popular": {"delta": 0.12, "low": 0.09, "high": 0.15}},
    {"model": "ease", "family": "cf", "ndcg@10": 0.19, "precision@10": 0.04, "recall@10": 0.3, "map@10": 0.1,
     "coverage": 0.3, "vs_popular": {"delta": 0.11, "low": 0.08, "high": 0.14}},
    {"model": "popular", "family": "baseline", "ndcg@10": 0.08, "precision@10": 0.02, "recall@10": 0.1,
     "map@10": 0.05, "coverage": 0.02, "vs_popular": None}],
    "verdict": {"best_hybrid": "hybrid_tuned", "best_single": "ease", "k": 10, "test_customers": 500,
                "vs_best_single": {"model": "ease", "delta": 0.01, "low": -0.004, "high": 0.024, "n": 500,
                                   "n_needed": 2345.0},
                "vs_popular": {"model": "popular", "delta": 0.12, "low": 0.09, "high": 0.15, "n": 500,
                               "n_needed": 40.0}}}


def test_leaderboard_leads_the_model_table_and_the_verdict_reads_it(full_metrics):
    full_metrics["evaluation"] = copy.deepcopy(LEADERBOARD)  # the verdict is deleted below
    t = report_summary.model_table(full_metrics)
    assert list(t.index) == ["hybrid_tuned", "ease", "popular"]  # the leaderboard, not the recorded rows
    board = report_summary.leaderboard_table(full_metrics)
    assert board.loc["ease", "family"] == "cf" and board.loc["ease", "low"] == 0.08
    assert board["vs popular"].isna().tolist() == [False, False, True]
    text = report_summary.verdict_paragraph(full_metrics)
    assert "On 500 test customers, the best hybrid variant *hybrid_tuned* (NDCG@10 0.200) is at the top" in text
    assert ("cannot be told apart from the best single model (*ease*): NDCG@10 +0.0100, 95% interval -0.0040 to "
            "+0.0240; a paired test would need about 2,345 customers" in text)
    assert "It beats popularity (*popular*): NDCG@10 +0.1200" in text
    del full_metrics["evaluation"]["verdict"]
    assert "notebook 05 did not run" in report_summary.verdict_paragraph(full_metrics)
    assert "No leaderboard" in report_summary.verdict_paragraph({})


def test_the_verdict_states_the_evaluation_population(full_metrics):
    full_metrics["evaluation"] = {**copy.deepcopy(LEADERBOARD), "population": {
        "customers": 20000, "of": 49304, "drawn": "a uniform random sample without replacement, seed 42 "
                                                  "(evaluation.max_customers)"}}
    text = report_summary.verdict_paragraph(full_metrics)
    assert text.startswith("On 20,000 of 49,304 test customers (a uniform random sample without replacement, "
                           "seed 42 (evaluation.max_customers)), the best hybrid variant *hybrid_tuned*")
    full_metrics["evaluation"]["population"] = {"customers": 500, "of": 500, "drawn": "every test customer"}
    assert report_summary.verdict_paragraph(full_metrics).startswith("On all 500 test customers, the best hybrid")


def test_summary_says_where_the_shipped_lists_stand(full_metrics):
    """The best model is not always what the run ships: the summary names hybrid_final's NDCG and rank."""
    board = {**LEADERBOARD, "leaderboard": [*LEADERBOARD["leaderboard"][:2], {
        "model": "hybrid_final", "family": "hybrid", "ndcg@10": 0.17, "precision@10": 0.04, "recall@10": 0.2,
        "map@10": 0.1, "coverage": 0.4, "vs_popular": {"delta": 0.09, "low": 0.06, "high": 0.12}},
        LEADERBOARD["leaderboard"][2]]}
    full_metrics["evaluation"] = board
    text = "\n".join(report_summary.executive_summary(full_metrics))
    # 0.20 - 0.17; third of hybrid_tuned 0.20, ease 0.19, hybrid_final 0.17, popular 0.08
    assert ("The lists the run ships, *hybrid_final* (the hybrid after its business rules), score NDCG@10 0.170: "
            "0.030 below *hybrid_tuned*, rank 3 of 4." in text)
    full_metrics["evaluation"] = LEADERBOARD  # no hybrid_final on the board: nothing said
    assert "the run ships" not in "\n".join(report_summary.executive_summary(full_metrics))


def test_popular_model_name_variants():
    assert report_summary.popular_model({"recommenders": {"most_popular": {}, "ease": {}}}) == "most_popular"
    assert report_summary.popular_model({"recommenders": {"pop_global": {}, "pop_recent": {}}}) == "pop_global"
    assert report_summary.popular_model({"recommenders": {"ease": {}}}) is None


def test_rating_and_hybrid_and_ablation_tables(full_metrics):
    r = report_summary.rating_table(full_metrics)
    assert list(r.index) == ["KNNBaseline", "SVD"]
    h = report_summary.hybrid_table(full_metrics)
    assert h.iloc[0].tolist() == ["hybrid (tuned)", "hybrid", 0.18]
    assert set(h["kind"]) == {"hybrid", "component alone", "baseline"}
    a = report_summary.ablation_table(full_metrics).set_index("component")
    assert a.loc["cf", "excludes_zero"] == True  # noqa: E712
    assert a.loc["content", "excludes_zero"] == False  # noqa: E712
    assert a.loc["seasonal", "excludes_zero"] == True  # noqa: E712


def test_truth_recovery_only_on_synthetic(full_metrics):
    t = report_summary.truth_recovery(full_metrics)
    assert list(t["stage"]) == ["segmentation", "basket", "pricing", "pricing"]
    assert t["value"].tolist() == [0.61, 8, 0.11, 2.4]
    assert isinstance(t["value"].iloc[1], int)
    full_metrics["data"]["source"] = "online_retail"
    assert len(report_summary.truth_recovery(full_metrics)) == 0


def test_executive_summary_quotes_the_numbers(full_metrics):
    full_metrics["evaluation"] = {
        "lift_over_popular": {"model": "ease", "baseline": "popular", "model_value": 0.17, "baseline_value": 0.09,
                              "estimate": 0.08, "low": 0.05, "high": 0.11, "n_customers": 812},
        "segment_value": {"champions": {"revenue_share": 0.45, "customer_share": 0.15},
                          "hibernating": {"revenue_share": 0.10, "customer_share": 0.40}}}
    text = "\n".join(report_summary.executive_summary(full_metrics))
    assert "1,000 customers" in text and "31 of 10,800" in text
    assert "*hibernating* (400, 40%)" in text
    assert "The *champions* segment brings 45% of net revenue from 15% of customers" in text
    assert "k=4" in text and "r=0.2500" in text

    full_metrics["segmentation"].update(model="gmm_full", selection={"chosen": {"model": "gmm_full", "k": 4,
                                                                                "rule": "icl"}})
    text = "\n".join(report_summary.executive_summary(full_metrics))
    assert "A Gaussian mixture (full covariance) chose k=4 by the icl rule" in text and "K-means" not in text
    assert "*ease* with NDCG@10 0.160" in text
    assert "scores 0.080 (+100% for *ease*)" in text  # 0.16 / 0.08 - 1
    assert ("Re-scored from the saved lists on the test split (812 customers), *ease* reaches 0.170 against 0.090 "
            "for *popular*: NDCG@10 difference +0.080 (95% paired-bootstrap interval +0.050 to +0.110); "
            "the interval excludes zero" in text)
    assert "*KNNBaseline* (RMSE 0.930" in text
    assert "8 of 10 planted bundles" in text
    assert "*cf* +0.050 (+0.030 to +0.070) earn their weight" in text
    assert "Leaving out *seasonal* would raise NDCG@10" in text
    assert "The tuned hybrid beats its best single component (*cf*): NDCG@10 +0.020 (95% interval +0.010" in text
    assert "The learned hybrid cannot be told apart from its best single component" in text
    assert "For *content* the interval includes zero" in text
    assert "revenue per customer +12.0% (95% interval +5.0% to +19.0%); power 0.90, 1,234 customers per arm" in text
    assert "WAPE) is 21.0% against 35.0% for the best naive baseline (moving_average)" in text
    assert "revenue uplift +3.1% (95% interval +1.2% to +5.0%)" in text
    assert "Guardrails: max_change 0.10, min_margin 0.05; a guardrail binds for 40% of products" in text
    assert "2.40% of the oracle" in text
    assert "not run" not in text


def test_executive_summary_degrades_when_stages_missing():
    m = {"data": {"source": "online_retail", "customers": 4338, "products": 3665, "transactions": 397924}}
    lines = report_summary.executive_summary(m)
    assert lines[0].startswith("**Data**: online_retail data with 4,338 customers")
    for stage in ("segmentation", "recommenders", "basket", "hybrid", "pricing"):
        assert any(f"no `{stage}` key" in s for s in lines), stage
    assert not any("Truth recovery" in s for s in lines)
    assert report_summary.stage_status(m)["ran"].tolist() == ["yes", "no", "no", "no", "no", "no", "no"]


def test_interval_that_includes_zero_is_called_not_established(full_metrics):
    full_metrics["evaluation"] = {"lift_over_popular": {"estimate": 0.01, "low": -0.01, "high": 0.03}}
    assert "not established" in " ".join(report_summary.executive_summary(full_metrics))


@pytest.mark.parametrize("x,digits,out", [(1234, 3, "1,234"), (0.12345, 3, "0.123"), (None, 3, "n/a"),
                                          (float("nan"), 2, "n/a"), ("abc", 2, "abc"), (True, 2, "True")])
def test_fmt(x, digits, out):
    assert report_summary.fmt(x, digits) == out


def test_pricing_summary_names_tiers_trust_and_refusals():
    from workbench.report.summary import _pricing_sentences

    ident = {"tiers": {"found": True, "schedule": [{"quantity_from": 1, "discount": 0.0}, {"quantity_from": 24, "discount": 0.1}]},
             "price_rule": "smallest_quantity", "refused_categories": ["bag"],
             "red_flags": ["95% of the suggested prices sit on the +-10% guardrail"],
             "share_suggestions_on_bound": 0.25, "n_suggestions": 40,
             "categories": {"bag": {"trust": "none"}, "mug": {"trust": "high"}, "toy": {"trust": "low"}}}
    text = " ".join(_pricing_sentences({"pricing": {"identification": ident}}))
    assert "24+ units -10%" in text and "smallest quantity price" in text
    assert "high for mug; low for toy; none for bag" in text
    assert "No elasticity and no price suggestion for bag" in text and "Red flag: 95%" in text
    assert "25% of the 40 products priced" in text and "observed at" not in text
    # the range of observed prices, a limit apart from the guardrail: 10% of 40 = 4 stopped (1 moved, 3 kept)
    ident.update(share_suggestions_on_evidence=0.1, n_moved_to_evidence=1, n_kept_by_evidence=3,
                 share_suggestions_on_limit=0.35, share_moved_on_limit=0.9)
    text = " ".join(_pricing_sentences({"pricing": {"identification": ident}}))
    assert "10% were stopped by the range of prices the product was observed at" in text
    assert "1 moved to its edge, 3 kept their price" in text
    assert "On either limit: 35% of the products priced and 90% of the prices that move" in text


def test_summary_states_the_ab_assumption_and_its_source(full_metrics):
    full_metrics["hybrid"]["ab_test"]["purchase_prob"] = 0.3
    full_metrics["hybrid"]["revenue"] = {"purchase_prob": 0.3, "purchase_prob_source": "parameter"}
    text = " ".join(report_summary.executive_summary(full_metrics))
    assert "revenue per customer +12.0%" in text and "a simulation, not an experiment" in text
    assert "with probability 0.300 at the top position (assumed, not measured: a parameter " \
           "(hybrid.impact.purchase_prob, else hybrid.impact.fallback_purchase_prob" in text
    full_metrics["hybrid"]["ab_test"]["purchase_prob"] = 0.0412
    full_metrics["hybrid"]["revenue"]["purchase_prob_source"] = "events"
    text = " ".join(report_summary.executive_summary(full_metrics))
    assert "probability 0.041 at the top position (measured on this shop as the share of viewed products that " \
           "were bought)" in text and "assumed, not measured" not in text


def test_summary_explains_clv_parameters_in_words(full_metrics):
    # the Online Retail fit of a first own-data run: a = 0 learns no churn
    full_metrics["segmentation"]["clv"].update(r=0.9, alpha=45.0, a=0.0, b=15785.0, no_dropout=True,
                                               time_unit_days=7)
    text = " ".join(report_summary.executive_summary(full_metrics))
    assert "a=0.0000, b=15,785.0000" in text
    assert "buys about 0.02 times a week" in text  # r / alpha = 0.9 / 45
    assert "no churn was learnt" in text and "treat the lifetime values as upper bounds" in text
    # CDNOW's published fit (Fader, Hardie & Lee 2005): a / (a + b) = 0.7929 / 3.2187 = 0.246
    full_metrics["segmentation"]["clv"].update(r=0.2426, alpha=4.4135, a=0.7929, b=2.4258, no_dropout=False)
    text = " ".join(report_summary.executive_summary(full_metrics))
    assert "stops buying for good with probability 0.25 (a/(a+b))" in text and "upper bounds" not in text


def test_summary_data_line_lists_the_quarantine_reasons():
    m = {"data": {"source": "sql", "customers": 4372, "products": 3938, "transactions": 401562, "rows_read": 541909,
                  "rows_quarantined": 140347,
                  "quarantine_reasons": {"duplicate_line": 5227, "missing_value:customer_id": 135080,
                                         "non_positive:unit_price": 40},
                  "tables": {"products": {"rows_read": 4070, "rows_accepted": 3938, "rows_quarantined": 132},
                             "customers": {"rows_read": 4372, "rows_accepted": 4372, "rows_quarantined": 0}}}}
    line = report_summary.executive_summary(m)[0]
    assert ("(140,347 of 541,909 transaction lines were quarantined (missing_value:customer_id 135,080, "
            "duplicate_line 5,227, non_positive:unit_price 40); also 132 of 4,070 products)") in line


def test_summary_says_when_the_basket_support_was_raised(full_metrics):
    full_metrics["basket"].update(min_support=0.000648, min_support_requested=0.00027,
                                  itemsets_at_requested=8592695, max_itemsets=500000)
    text = " ".join(report_summary.executive_summary(full_metrics))
    assert ("The adaptive minimum support 0.00027 would have built 8,592,695 itemsets, more than the memory budget "
            "basket.max_itemsets (500,000), so the rules were mined at 0.000648.") in text


def test_the_rules_cost_table_and_sentence_read_the_hybrid_block():
    from workbench.report import summary as report_summary

    metrics = {"hybrid": {"rules": {
        "variant": "learned", "delta": -0.004, "low": -0.007, "high": -0.001, "max_ndcg_loss": 0.005,
        "intra_list_diversity_before": 0.35, "intra_list_diversity": 0.53,
        "chosen_on": {"variant": "validation", "max_per_category": "validation", "boost": "hand"},
        "costs": {"start": {"ndcg@10": 0.139, "ndcg_delta": 0.0}, "all_rules": {"ndcg@10": 0.135, "ndcg_delta": -0.004}}}}}
    table = report_summary.rules_table(metrics)
    assert list(table["rule"]) == ["start", "all_rules"] and table["ndcg_delta"].tolist() == [0.0, -0.004]
    sentence = report_summary._rules_sentence(metrics)
    assert "*learned*" in sentence and "set by hand (boost)" in sentence
    assert "0.0040 NDCG (95% interval 0.0010 to 0.0070)" in sentence
    assert report_summary.rules_table({}).empty and report_summary._rules_sentence({}) is None

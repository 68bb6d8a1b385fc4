"""Notebook 07's artifact-based numbers, hand-computed on a 3-customer example."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from workbench.report import evaluation as report_evaluation

L3 = 1 / math.log2(3)  # discount of position 2


def _test_split() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["c1", "c1", "c2", "c3"], "product_id": ["p1", "p2", "p3", "p4"],
        "timestamp": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-09", "2024-01-10"]),
        "quantity": [2, 1, 1, 1], "unit_price": [5.0, 3.0, 10.0, 4.0]})


def _recs(pairs: dict[str, list[str]]) -> pd.DataFrame:
    rows = [{"customer_id": c, "product_id": p, "rank": i + 1, "score": 1.0 / (i + 1)}
            for c, ps in pairs.items() for i, p in enumerate(ps)]
    return pd.DataFrame(rows)


A = _recs({"c1": ["p1", "p9"], "c2": ["p3", "p8"], "c3": ["p7", "p4"]})
B = _recs({"c1": ["p9", "p8"], "c2": ["p8", "p3"], "c3": ["p7", "p6"]})


def test_curves_hand_computed():
    c = report_evaluation.curves({"a": A, "b": B}, _test_split(), ks=(1, 2, 5)).set_index(["model", "k"])
    assert list(c.index) == [("a", 1), ("a", 2), ("b", 1), ("b", 2)]  # K capped at the saved list length
    assert c.loc[("a", 1), "precision"] == pytest.approx(2 / 3)
    assert c.loc[("a", 1), "recall"] == pytest.approx(0.5)
    assert c.loc[("a", 2), "precision"] == pytest.approx(0.5)
    assert c.loc[("a", 2), "recall"] == pytest.approx(2.5 / 3)
    ndcg_a = (1 / (1 + L3) + 1 + L3) / 3
    assert c.loc[("a", 2), "ndcg"] == pytest.approx(ndcg_a)
    assert c.loc[("b", 2), "ndcg"] == pytest.approx(L3 / 3)


def test_hits_over_time_revenue_per_week():
    h = report_evaluation.hits_over_time({"a": A, "b": B}, _test_split(), k=2, freq="W").set_index(["model", "period"])
    w1, w2 = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-08")
    assert h.loc[("all test purchases", w1), "revenue"] == 13 and h.loc[("all test purchases", w2), "revenue"] == 14
    assert h.loc[("a", w1), "revenue"] == 10 and h.loc[("a", w2), "revenue"] == 14
    assert h.loc[("a", w2), "hits"] == 2
    assert h.loc[("b", w1), "hits"] == 0 and h.loc[("b", w2), "revenue"] == 10
    # k=1: only first positions count; a's c3 hit (position 2) drops out
    h1 = report_evaluation.hits_over_time({"a": A}, _test_split(), k=1).set_index(["model", "period"])
    assert h1.loc[("a", w2), "revenue"] == 10


def test_hits_over_time_without_prices_counts_and_without_time_is_empty():
    t = _test_split().drop(columns=["unit_price"])
    h = report_evaluation.hits_over_time({"a": A}, t, products=pd.DataFrame({"product_id": ["p1", "p3"], "price": [1.0, 2.0]}))
    assert h.loc[h["model"] == "a", "revenue"].sum() == 2 * 1.0 + 2.0 + 0  # p4 has no list price: NaN -> skipped
    h = report_evaluation.hits_over_time({"a": A}, t.drop(columns=["quantity"]))
    assert h["revenue"].isna().all() and h.loc[h["model"] == "a", "hits"].sum() == 3
    assert len(report_evaluation.hits_over_time({"a": A}, t.drop(columns=["timestamp"]))) == 0


def test_segment_value_shares():
    seg = pd.DataFrame({"customer_id": list("abcd"), "segment": ["champions", "champions", "at_risk", "hibernating"],
                        "monetary": [600.0, 200.0, 150.0, 50.0]})
    v = report_evaluation.segment_value(seg)
    assert v["segment"].tolist() == ["champions", "at_risk", "hibernating"]
    assert v["revenue_share"].tolist() == pytest.approx([0.8, 0.15, 0.05])
    assert v["customer_share"].tolist() == pytest.approx([0.5, 0.25, 0.25])
    with pytest.raises(KeyError, match="notebook 01"):
        report_evaluation.segment_value(seg.drop(columns=["monetary"]))


def test_relevant_needs_ids():
    with pytest.raises(KeyError, match="customer_id"):
        report_evaluation.relevant(pd.DataFrame({"user": [1]}))


def _run_dir(tmp_path, full_metrics):
    d = tmp_path / "run"
    (d / "artifacts").mkdir(parents=True)
    _test_split().to_parquet(d / "artifacts" / "split_test.parquet")
    A.to_parquet(d / "artifacts" / "recs_ease.parquet")
    B.to_parquet(d / "artifacts" / "recs_popular.parquet")
    pd.DataFrame({"customer_id": ["c1", "c2"], "segment": ["champions", "at_risk"], "monetary": [3.0, 1.0]}) \
        .to_parquet(d / "artifacts" / "customer_segments.parquet")
    (d / "metrics.json").write_text(json.dumps(full_metrics))
    return d


def test_evaluate_run_and_its_metrics_block(tmp_path, full_metrics):
    d = _run_dir(tmp_path, full_metrics)
    A.to_parquet(d / "artifacts" / "recs_hybrid_tuned.parquet")  # the hybrid's list: the same as ease's here
    ev = report_evaluation.evaluate_run(d, full_metrics, {"evaluation": {"k": 2, "n_boot": 100, "seed": 3}})
    assert ev.notes == []
    ndcg_a, ndcg_b = (1 / (1 + L3) + 1 + L3) / 3, L3 / 3
    assert ev.best == ("ease", pytest.approx(ndcg_a)) and ev.baseline == "popular"  # ties by name: ease first
    assert ev.lift["model"] == "ease" and ev.lift["baseline"] == "popular"
    assert ev.lift["estimate"] == pytest.approx(ndcg_a - ndcg_b)
    assert ev.lift["low"] <= ev.lift["estimate"] <= ev.lift["high"]
    assert ev.lift["relative"] == pytest.approx((ndcg_a - ndcg_b) / ndcg_b) and ev.lift["n_customers"] == 3
    m = ev.to_metrics()
    assert m["stages_run"] == ["data", "segmentation", "recommenders", "rating", "basket", "hybrid", "pricing"]
    assert m["best_model"] == "ease" and m["best_ndcg@2"] == pytest.approx(ndcg_a) and m["k"] == 2
    assert [r["model"] for r in m["leaderboard"]] == ["ease", "hybrid_tuned", "popular"]
    assert [r["family"] for r in m["leaderboard"]] == ["cf", "hybrid", "baseline"]
    assert m["test_customers"] == 3
    v = m["verdict"]  # the hybrid ties ease (the best single model) and beats popular by the same margin
    assert v["best_hybrid"] == "hybrid_tuned" and v["best_single"] == "ease"
    assert v["vs_best_single"]["delta"] == 0.0 and v["vs_best_single"]["n_needed"] == float("inf")
    assert v["vs_popular"]["delta"] == pytest.approx(ndcg_a - ndcg_b)
    assert m["segment_value"]["champions"]["revenue_share"] == pytest.approx(0.75)
    assert m["truth_recovery"]["segments: ARI vs planted segments"] == 0.61
    assert set(ev.curves["model"]) == {"ease", "hybrid_tuned", "popular"}


def test_evaluate_run_degrades_without_artifacts(tmp_path):
    metrics = {"data": {"source": "online_retail", "customers": 10}}
    ev = report_evaluation.evaluate_run(tmp_path, metrics)
    assert ev.to_metrics() == {"stages_run": ["data"]}
    assert len(ev.notes) == 2 and "notebook 01" in ev.notes[0] and "no recommender notebook" in ev.notes[1]


def test_relevant_pairs_once_and_no_returns():
    test = pd.concat([_test_split(), _test_split().iloc[:1]])  # a repeated purchase counts once
    assert report_evaluation.relevant(test).values.tolist() == [["c1", "p1"], ["c1", "p2"], ["c2", "p3"], ["c3", "p4"]]
    assert len(report_evaluation.relevant(_test_split().assign(quantity=[1, -1, 1, 1]))) == 3  # returns are not purchases


def test_recorded_vs_recomputed(full_metrics):
    c = report_evaluation.curves({"ease": A, "nobody": B}, _test_split(), ks=(2,))
    t = report_evaluation.recorded_vs_recomputed(c, full_metrics, k=2).set_index("model")
    assert t.loc["ease", "ndcg@2 recomputed"] == pytest.approx((1 / (1 + L3) + 1 + L3) / 3)
    assert t.loc["ease", "ndcg@2 recorded"] is None and t.loc["nobody", "precision@2 recorded"] is None
    assert len(report_evaluation.recorded_vs_recomputed(c.iloc[:0], full_metrics)) == 0


def test_item_support_share_of_baskets():
    tx = pd.DataFrame({"transaction_id": ["t1", "t1", "t1", "t2", "t3", "t3"],
                       "product_id": ["milk", "milk", "bread", "milk", "eggs", "bread"],
                       "quantity": [1, 2, 1, 1, -1, 1]})
    s = report_evaluation.item_support(tx, n=2)
    # baskets with a purchase: t1, t2, t3 (t3 buys bread; its eggs line is a return)
    assert s["product_id"].tolist() == ["bread", "milk"]  # 2 baskets each: ties by id
    assert s["baskets"].tolist() == [2, 2]
    assert s["support"].tolist() == pytest.approx([2 / 3, 2 / 3])
    assert report_evaluation.item_support(tx, n=5)["product_id"].tolist() == ["bread", "milk"]  # eggs never bought


def test_error_analysis_skips_what_the_shop_lacks_with_the_reason(tmp_path, full_metrics):
    """No split_train, no product categories, no clusters: those slices are skipped with their reasons; the
    segment slices remain, with hand-computed values (ease: c1 NDCG@2 1/(1 + L3), c2 1)."""
    d = _run_dir(tmp_path, full_metrics)
    ev = report_evaluation.evaluate_run(d, full_metrics, {"evaluation": {"k": 2, "n_boot": 50, "seed": 3}})
    m = ev.to_metrics()
    skipped = m["slices"]["skipped"]
    assert set(skipped) == {"cluster", "history", "customer_type", "popularity", "category"}
    assert "cluster" in skipped["cluster"] and "category" in skipped["category"]
    segments = m["slices"]["dimensions"]["segment"]
    assert segments["champions"]["customers"] == 1 and segments["at_risk"]["customers"] == 1
    assert segments["champions"]["models"]["ease"]["ndcg"] == pytest.approx(1 / (1 + L3))
    assert segments["at_risk"]["models"]["popular"]["ndcg"] == pytest.approx(L3)
    assert m["overlap"]["jaccard"]["ease"]["popular"] == pytest.approx((1 / 3 + 1 + 1 / 3) / 3)  # c1 {p9}, c2 {p3, p8}, c3 {p7}
    assert m["slices"]["shipped_vs_best"]["shipped"] is None

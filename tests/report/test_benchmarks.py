"""The benchmark summary marks each published anchor pass/miss from metrics alone."""
from __future__ import annotations

import json

from workbench.report import benchmarks as report_benchmarks
from workbench.report import published as report_published


def _ml100k(ndcg=0.49, p10=0.42, map10=0.15) -> dict:
    return {"recommenders": {"ease": {"ndcg@10": ndcg, "precision@10": p10, "map@10": map10},
                             "popular": {"ndcg@10": 0.25, "precision@10": 0.2, "map@10": 0.05}},
            "rating": {"SVD": {"rmse": 0.9366, "mae": 0.7386}, "KNNBaseline": {"rmse": 0.955, "mae": 0.75}}}


def _rows(summary, run):
    return {r["check"]: r for r in summary["rows"] if r["run"] == run}


def test_every_anchor_has_a_row_with_a_tolerance():
    checks = report_benchmarks.checks()
    assert len([c for c in checks if c.run == "movielens100k" and c.kind == "beat"]) == 15
    assert {c.run for c in checks} == {"movielens100k", "groceries", "cdnow", "online_retail"}
    assert all(c.tolerance_text() for c in checks)
    assert sum(c.run == "online_retail" for c in checks) == 1 + len(report_published.ONLINE_RETAIL_SEGMENTS)


def test_ml100k_best_model_must_beat_every_row():
    s = report_benchmarks.build_summary({"movielens100k": _ml100k()})
    rows = _rows(s, "movielens100k")
    beat = [r for r in rows.values() if r["check"].startswith("best model")]
    assert len(beat) == 15 and all(r["result"] == report_benchmarks.PASS and r["model"] == "ease" for r in beat)
    assert rows["SVD RMSE (5-fold CV)"]["result"] == report_benchmarks.PASS      # |0.9366 - 0.934| <= 0.01
    assert rows["KNNBaseline RMSE (5-fold CV)"]["result"] == report_benchmarks.MISS  # |0.955 - 0.931| > 0.01
    assert rows["KNNBaseline MAE (5-fold CV)"]["published"] == 0.733
    # below BiVAE's nDCG but above BPR's: exactly the BiVAE row misses
    s = report_benchmarks.build_summary({"movielens100k": _ml100k(ndcg=0.45)})
    rows = _rows(s, "movielens100k")
    assert rows["best model nDCG@10 vs BiVAE (GPU)"]["result"] == report_benchmarks.MISS
    assert rows["best model nDCG@10 vs BPR (cornac)"]["result"] == report_benchmarks.PASS
    assert rows["best model nDCG@10 vs BiVAE (GPU)"]["ours"] == 0.45


def test_groceries_cdnow_online_retail_marks():
    groceries = {"evaluation": {"item_support": {"whole milk": 0.25552}}, "basket": {"n_rules": 5668, "top_rules": [
        {"antecedents": ["a"], "consequents": ["b"], "lift": 18.9955}, {"lift": 3.0}]}}
    cdnow = {"segmentation": {"clv": {"r": 0.2426, "alpha": 4.4139, "a": 0.7929, "b": 2.4300}}}
    retail = {"segmentation": {"segments": dict(report_published.ONLINE_RETAIL_SEGMENTS, champions=634, no_purchase=34)}}
    s = report_benchmarks.build_summary({"groceries": groceries, "cdnow": cdnow, "online_retail": retail})
    g = _rows(s, "groceries")
    assert [r["result"] for r in g.values()] == [report_benchmarks.PASS, report_benchmarks.PASS, report_benchmarks.PASS]
    assert g["top rule lift"]["ours"] == 18.9955
    c = _rows(s, "cdnow")
    assert c["BG/NBD alpha"]["result"] == report_benchmarks.PASS and c["BG/NBD b"]["result"] == report_benchmarks.MISS
    o = _rows(s, "online_retail")
    key = "customers with purchases (RFM-scored)"  # no_purchase customers are not among the cleaned 4,338
    assert o[key]["ours"] == 4339 and o[key]["result"] == report_benchmarks.MISS
    assert o["segment champions"]["result"] == report_benchmarks.MISS and o["segment hibernating"]["result"] == report_benchmarks.PASS
    assert s["counts"][report_benchmarks.NOT_RUN] == len([r for r in s["rows"] if r["run"] == "movielens100k"])


def test_missing_runs_and_metrics_are_not_passes():
    s = report_benchmarks.build_summary({"groceries": {"basket": {"n_rules": 5668}}, "cdnow": None},
                        status={"cdnow": "failed: boom"})
    g = _rows(s, "groceries")
    assert g["support of whole milk"]["result"] == report_benchmarks.NOT_RECORDED
    assert all(r["result"] == report_benchmarks.NOT_RUN for r in s["rows"] if r["run"] == "cdnow")
    assert s["runs"]["cdnow"] == "failed: boom" and s["runs"]["groceries"] == "metrics found"
    assert s["counts"][report_benchmarks.PASS] == 1 and sum(s["counts"].values()) == len(s["rows"])


def test_top_lift_from_list_rules():
    m = {"basket": {"top_rules": [[["soda", "instant food products"], ["hamburger meat"], 0.0012, 0.63, 18.996]]}}
    assert report_benchmarks._top_lift(m) == (18.996, None)


def test_markdown_and_files(tmp_path):
    s = report_benchmarks.build_summary({"movielens100k": _ml100k(ndcg=0.45)}, status={"movielens100k": "ok"})
    md = report_benchmarks.summary_markdown(s)
    assert ("| movielens100k | best model nDCG@10 vs BiVAE (GPU) | 0.4751 | 0.45 | ease | >= published | **miss** |"
            in md)
    assert "| groceries | top rule lift | 18.996 | — |  | ± 0.001 | not run |" in md
    assert "| groceries | rules, one-item consequents (s=0.001, c=0.5) | 5,668 | — |  | exact | not run |" in md
    path = report_benchmarks.write_summary(s, tmp_path / "benchmarks")
    assert path.read_text() == md
    assert json.loads((tmp_path / "benchmarks" / "summary.json").read_text())["counts"] == s["counts"]


def test_load_metrics_and_main_no_run(tmp_path, capsys):
    (tmp_path / "cdnow").mkdir()
    (tmp_path / "cdnow" / "metrics.json").write_text(json.dumps({"segmentation": {"clv": report_published.CDNOW_BGNBD}}))
    assert report_benchmarks.load_metrics(tmp_path, ["cdnow", "groceries"]) == {"cdnow": {"segmentation": {"clv": report_published.CDNOW_BGNBD}},
                                                                 "groceries": None}
    from workbench import benchmarks

    assert benchmarks.main(["--no-run", "--outputs", str(tmp_path)]) == 0
    out = json.loads((tmp_path / "benchmarks" / "summary.json").read_text())
    assert [r["result"] for r in out["rows"] if r["run"] == "cdnow"] == [report_benchmarks.PASS] * 4
    assert "4 pass" in capsys.readouterr().out


def test_anchor_values_are_the_cited_ones():
    r = report_published.ML100K_RANKING
    assert [round(r["BiVAE (GPU)"][m], 3) for m in ("ndcg@10", "precision@10", "map@10")] == [0.475, 0.412, 0.146]
    assert [round(r["BPR (cornac)"][m], 3) for m in ("ndcg@10", "precision@10", "map@10")] == [0.442, 0.388, 0.132]
    assert [round(r["SVD (surprise)"][m], 3) for m in ("ndcg@10", "precision@10", "map@10")] == [0.096, 0.091, 0.013]
    assert report_published.ML100K_RATING["SVD"] == {"rmse": 0.934, "mae": 0.737} and report_published.ML100K_RATING["KNNBaseline"]["rmse"] == 0.931
    assert report_published.CDNOW_BGNBD == {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}
    assert sum(report_published.ONLINE_RETAIL_SEGMENTS.values()) == report_published.ONLINE_RETAIL_CUSTOMERS == 4338
    assert report_published.GROCERIES["n_rules"] == 5668 and report_published.GROCERIES["top_lift"] == 18.996


def test_run_benchmarks_skips_missing_params(tmp_path):
    from workbench import benchmarks

    status = benchmarks.run_benchmarks(["no_such_params_file"], outputs_dir=tmp_path)
    assert status == {"no_such_params_file": "skipped: no params file"}

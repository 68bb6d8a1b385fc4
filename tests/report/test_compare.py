"""Runs load into one flat DataFrame: params, metrics and manifest side by side."""
from __future__ import annotations

import json

import yaml

from workbench.report import compare


def _run(root, name, k, ndcg, with_manifest=True):
    d = root / name
    d.mkdir(parents=True)
    params = {"name": "default", "seed": 42, "data": {"source": "synthetic"}, "recommenders": {"k": k},
              "notebooks": ["00", "02"]}
    (d / "metrics.json").write_text(json.dumps({"recommenders": {"ease": {"ndcg@10": ndcg}},
                                                "basket": {"top_rules": [[1, 2]]}}))
    (d / "params.yaml").write_text(yaml.safe_dump(params))
    if with_manifest:
        (d / "manifest.json").write_text(json.dumps({"params": dict(params, _source="/x.yaml"),
                                                     "git_commit": "abc", "duration_s": 3.5,
                                                     "notebooks": [{"notebook": "00.ipynb"}]}))
    return d


def test_flatten():
    assert compare.flatten({"a": {"b": 1, "c": [1, 2]}, "d": {}}, "p") == {"p.a.b": 1, "p.a.c": "[1, 2]", "p.d": "{}"}


def test_load_runs_one_row_per_run(tmp_path):
    _run(tmp_path, "sweep-k5", 5, 0.10)
    _run(tmp_path, "sweep-k20", 20, 0.14, with_manifest=False)
    _run(tmp_path, ".sweep-k9.tmp", 9, 0.5)               # a run in progress: hidden unless asked for
    (tmp_path / "x.failed").mkdir()
    (tmp_path / "benchmarks").mkdir()                     # no metrics.json: not a run
    runs = compare.load_runs(tmp_path)
    assert runs["run"].tolist() == ["sweep-k20", "sweep-k5"]
    assert runs["params.recommenders.k"].tolist() == [20, 5]
    assert runs["metrics.recommenders.ease.ndcg@10"].tolist() == [0.14, 0.10]
    assert runs["manifest.git_commit"].tolist()[1] == "abc"
    assert "params._source" not in runs.columns
    assert compare.varying(runs) == ["params.recommenders.k"]
    assert compare.metric_columns(runs, "ndcg") == ["metrics.recommenders.ease.ndcg@10"]
    runs = compare.load_runs(tmp_path, extra=[tmp_path / ".sweep-k9.tmp"])
    assert "sweep-k9" in runs["run"].tolist()


def test_running_run_replaces_finished_one(tmp_path):
    _run(tmp_path / "out", "default", 10, 0.1)
    _run(tmp_path / "out", ".default.tmp", 10, 0.2)
    runs = compare.load_runs(tmp_path / "out", extra=[tmp_path / "out" / ".default.tmp"])
    assert runs["metrics.recommenders.ease.ndcg@10"].tolist() == [0.2]


def test_empty_outputs(tmp_path):
    assert len(compare.load_runs(tmp_path / "missing")) == 0
    assert compare.load_run(tmp_path) is None


def test_swept_and_comparison_table(tmp_path):
    _run(tmp_path, "b-k5", 5, 0.10)
    _run(tmp_path, "a-k20", 20, 0.14)
    runs = compare.load_runs(tmp_path)
    runs["params.data.path"] = ["/x", "/y"]      # differs between data sets, not a sweep
    runs["metrics.evaluation.best_ndcg@10"] = [0.14, 0.10]
    assert compare.swept(runs) == ["params.recommenders.k"]
    t = compare.comparison_table(runs)
    assert list(t.columns) == ["run", "params.recommenders.k", "metrics.evaluation.best_ndcg@10"]
    assert t["run"].tolist() == ["a-k20", "b-k5"]


def test_sweep_axis_only_over_runs_with_the_metric(tmp_path):
    _run(tmp_path, "k5", 5, 0.10)
    _run(tmp_path, "k20", 20, 0.14)
    _run(tmp_path, "other", 7, 0.2)
    runs = compare.load_runs(tmp_path)
    best = "metrics.evaluation.best_ndcg@10"
    runs[best] = [0.14, 0.10, None]  # k20, k5, other
    assert compare.best_ndcg_column(runs) == best
    assert compare.sweep_axis(runs) == "params.recommenders.k"
    runs[best] = [0.14, None, None]
    assert compare.sweep_axis(runs) is None
    assert compare.sweep_axis(runs.drop(columns=[best])) is None

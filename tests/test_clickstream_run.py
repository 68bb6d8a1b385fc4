"""The clickstream shop (params/clickstream.yaml: events only, no transactions, no prices) through the runner:
every notebook completes, the recommenders learn from the events and reach the leaderboard, and the stages
that need money say why they are skipped."""
import json
import os
import subprocess
import sys

import nbformat
import pytest

from workbench.runner import discover
from workbench.stages import skipped_stages

#: the stages and parts of stages that need money (metrics.json keys)
MONEY_STAGES = {"segmentation.monetary", "segmentation.clv", "hybrid.revenue", "pricing"}


@pytest.fixture(scope="module")
def clickstream_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("clickstream") / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    # the fuzz shops' quick profile where it touches this shop (fewer candidates and resamples, no MLflow)
    quick = ["tracking.enabled=false", "segmentation.clusters.n_bootstrap=2", "segmentation.clusters.gap_references=1",
             "hybrid.tuning.n_random=10", "hybrid.tuning.n_bags=10"]
    cmd = [sys.executable, "-m", "workbench", "run", "--params", "clickstream", "-p", "data.synthetic.n_customers=400",
           *(arg for kv in quick for arg in ("-p", kv)), "--out", str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    return proc, out


@pytest.mark.slow
def test_clickstream_shop_runs_every_notebook(clickstream_run):
    proc, out = clickstream_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert [n["notebook"] for n in manifest["notebooks"]] == [p.name for p in discover()]
    for nb in discover():
        cells = nbformat.read(str(out / nb.name), as_version=4).cells
        errors = [o for c in cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
        assert not errors, f"{nb.name}: {errors[:1]}"


@pytest.mark.slow
def test_clickstream_money_stages_skip_with_a_reason(clickstream_run):
    proc, out = clickstream_run
    metrics = json.loads((out / "metrics.json").read_text())
    skipped = dict(skipped_stages(metrics))
    assert MONEY_STAGES <= set(skipped), skipped
    for stage in MONEY_STAGES:
        assert "price" in skipped[stage], (stage, skipped[stage])
    # recency and frequency still segment the buyers (purchase events), without monetary
    seg = metrics["segmentation"]
    assert seg["buyers"] > 0 and sum(seg["segments"].values()) == seg["customers"]
    page = (out / "report" / "index.html").read_text()
    assert page.count("Skipped") >= len(MONEY_STAGES)


@pytest.mark.slow
def test_clickstream_recommenders_reach_the_leaderboard(clickstream_run):
    proc, out = clickstream_run
    ev = json.loads((out / "metrics.json").read_text())["evaluation"]
    rows = {r["model"]: r for r in ev["leaderboard"]}
    col = f"ndcg@{ev['k']}"
    assert {"popular", "random", "ease", "content"} <= set(rows), sorted(rows)
    assert any(m.startswith("hybrid_") for m in rows), sorted(rows)
    assert ev["test_customers"] > 0
    # learnt from the events: the best model ranks the held-out purchases far above random lists
    assert rows[ev["best_model"]][col] > 3 * rows["random"][col]


@pytest.mark.slow
def test_clickstream_notebook_finds_the_planted_bots_and_reports_the_clickstream(clickstream_run):
    proc, out = clickstream_run
    cs = json.loads((out / "metrics.json").read_text())["clickstream"]
    planted = cs["bots"]["planted"]
    assert planted["caught"] == planted["planted"] == 8 and planted["genuine_flagged"] == 0
    assert cs["sessions"]["sessions"] > 0 and 0 < cs["funnel"]["overall"]["cart_to_purchase"] < 1
    assert {"session_pop", "sknn", "vsknn", "session_cooc"} <= set(cs["session_recs"]["models"])
    assert (out / "artifacts" / "sessions.parquet").exists()

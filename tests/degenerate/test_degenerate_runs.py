"""Every notebook runs on every degenerate shop through the runner's command line: each run completes
(exit 0) with results or a stated reason per stage, or, for an invalid shop, stops at load with a clear
WorkbenchError (exit 2).

The shops run in one session fixture, two command-line runs at a time (kernel start-up and imports are
most of the time, and they wait on I/O as much as on the CPU).
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml
from shops import INVALID, SHOPS, params_for, write_shops

from workbench.runner import discover
from workbench.stages import skipped_stages

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
from fuzz_shops import FAST_PARAMS  # noqa: E402  (the fuzz shops' quick params profile)

VALID = [n for n in SHOPS if n not in INVALID]
#: skips each shop's construction makes certain (a shop may skip more; every skip carries a reason)
MUST_SKIP = {
    "no_repeat": {"segmentation.clv"},               # nobody bought on a second day
    "one_day": {"segmentation.clv", "pricing"},      # one purchase day, one week of prices
    "one_customer": {"segmentation", "recommenders", "hybrid"},  # one buyer: no quintiles, nobody to test
    "one_product": {"basket"},                       # no basket holds two products
    "twenty_customers": {"segmentation.clustering"},  # 9 buyers: too few for k up to 10; RFM segments stand alone
    "one_day_priced": {"segmentation.clv", "pricing"},  # 26 weeks of prices, but no sale in the test weeks
    "views_only": {"segmentation", "pricing"},        # no purchase: nothing to segment, no sales to price
}
#: params a shop runs with besides reading it (the view log is evaluated on its events, as params/clickstream.yaml)
EXTRA = {"views_only": {"evaluation": {"source": "events", "split": "chronological", "ratio": 0.8}}}
#: the fuzz shops' quick profile (fewer candidates, trees and resamples; every stage and code path still runs), but
#: the twenty-customer pilot keeps the default cluster range, whose top its nine buyers cannot fill
QUICK = {name: {k: v for k, v in FAST_PARAMS.items() if name != "twenty_customers" or k != "segmentation"}
         for name in SHOPS}
#: the shop whose report is rendered (the others skip rendering to save time)
RENDERED = "one_day"
PARALLEL = 2


@pytest.fixture(scope="session")
def degenerate_runs(tmp_path_factory):
    """name -> (exit code, stderr, output folder), every shop run by ``python -m workbench run``."""
    root = tmp_path_factory.mktemp("degenerate")
    folders = write_shops(root / "shops")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    todo, running, results = list(SHOPS), {}, {}
    while todo or running:
        while todo and len(running) < PARALLEL:
            name = todo.pop(0)
            pfile = root / f"{name}.yaml"
            pfile.write_text(yaml.safe_dump(params_for(name, folders[name], **QUICK[name], **EXTRA.get(name, {}))))
            out = root / "runs" / name
            cmd = [sys.executable, "-m", "workbench", "run", "--params", str(pfile), "--out", str(out)]
            if name != RENDERED:
                cmd.append("--no-report")
            err = open(root / f"{name}.stderr", "w+")
            running[name] = (subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err), err, out)
        for name, (proc, err, out) in list(running.items()):
            if proc.poll() is not None:
                err.seek(0)
                results[name] = (proc.returncode, err.read(), out)
                err.close()
                del running[name]
        time.sleep(0.5)
    return results


def _errors(nb_path: Path) -> list:
    nb = nbformat.read(str(nb_path), as_version=4)
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]


@pytest.mark.slow
@pytest.mark.parametrize("name", VALID)
def test_degenerate_shop_completes(degenerate_runs, name):
    code, stderr, out = degenerate_runs[name]
    assert code == 0, f"{name} did not complete (exit {code}): {stderr[-3000:]}"
    manifest = json.loads((out / "manifest.json").read_text())
    assert [n["notebook"] for n in manifest["notebooks"]] == [p.name for p in discover()]
    for nb in discover():
        assert not _errors(out / nb.name), f"{name}/{nb.name}: {_errors(out / nb.name)[:1]}"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["rows_quarantined"] == 0  # cut from a clean shop: odd, not broken (offsets parse)
    skipped = dict(skipped_stages(metrics))
    assert MUST_SKIP.get(name, set()) <= set(skipped), f"{name}: skipped {skipped}"
    assert all(len(reason) > 20 for reason in skipped.values())
    assert "unexpected error" not in stderr
    ended = {n["notebook"]: n["skipped"] for n in manifest["notebooks"] if n.get("skipped")}
    for nb, reason in ended.items():  # a notebook that ended early says why, as Markdown, not a traceback
        cells = nbformat.read(str(out / nb), as_version=4).cells
        shown = [o for c in cells if c.cell_type == "code" for o in c.get("outputs", [])
                 if "text/markdown" in o.get("data", {}) and "Skipped" in o["data"]["text/markdown"]]
        assert shown, f"{name}/{nb} ended early ({reason}) without saying so"


@pytest.mark.slow
def test_pilot_too_small_to_cluster_keeps_its_rfm_segments(degenerate_runs):
    """Twenty customers, nine of them buyers: no clustering, but the RFM table is saved and counted."""
    import pandas as pd

    out = degenerate_runs["twenty_customers"][2]
    table = pd.read_parquet(out / "artifacts" / "customer_segments.parquet")
    seg = json.loads((out / "metrics.json").read_text())["segmentation"]
    assert len(table) == seg["customers"] == 20 and seg["k"] is None and seg["clusters"] == {}
    assert table["segment"].value_counts().to_dict() == {k: v for k, v in seg["segments"].items() if v}
    assert (table["frequency"] > 0).sum() == seg["buyers"]


@pytest.mark.slow
def test_report_lists_skipped_stages_first(degenerate_runs):
    out = degenerate_runs[RENDERED][2]
    page = (out / "report" / "index.html").read_text()
    summary = page[page.index("<h2>Summary</h2>"):page.index("<h2>Key figures</h2>")]
    first = summary[summary.index("<li>"):summary.index("</li>")]
    assert "Skipped" in first
    assert summary.count("Skipped") >= len(MUST_SKIP[RENDERED])


@pytest.mark.slow
@pytest.mark.parametrize("name", INVALID)
def test_invalid_shop_stops_at_load(degenerate_runs, name):
    code, stderr, out = degenerate_runs[name]
    assert code == 2, stderr[-3000:]
    msg = stderr[stderr.index("error: "):]
    assert "00_data_eda.ipynb" in msg and "Load and validate" in msg
    assert "transactions" in msg and "unexpected error" not in msg
    assert not out.exists() and (out.parent / f"{out.name}.failed").exists()


@pytest.mark.slow
def test_view_log_goes_on_to_the_recommenders(degenerate_runs):
    """No purchase at all: RFM says why it cannot segment, and the recommenders learn from the views."""
    out = degenerate_runs["views_only"][2]
    metrics = json.loads((out / "metrics.json").read_text())
    assert "no purchase" in metrics["segmentation"]["skipped"]
    assert "skipped" not in metrics["recommenders"] and "skipped" not in metrics["hybrid"]
    board = {row["model"] for row in metrics["evaluation"]["leaderboard"]}
    assert {"popular", "ease", "hybrid_final"} <= board

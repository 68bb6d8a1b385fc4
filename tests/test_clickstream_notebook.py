"""Notebook 08 through the runner on clickstreams in the RetailRocket layout (written here from the planted
synthetic clickstream, bots included): sessions, funnel, interest, bot counts and session recommendations reach
metrics.json with their figures; a views-only clickstream (no purchase events) skips what needs purchases."""
import json
import os
import subprocess
import sys

import nbformat
import pytest

from workbench.config import load_params
from workbench.data import contract
from workbench.data.adapters import retailrocket
from workbench.data.load import drop_parts
from workbench.data.sources import load_source

SHOP = {"n_customers": 300, "n_products": 120, "n_weeks": 26}


def _layout_file(folder, views_only=False):
    params = load_params("clickstream", {"data": {"synthetic": SHOP}})
    shop = drop_parts(load_source(params["data"], seed=params["seed"]), params["data"]["drop"])
    events = shop.events
    if views_only:
        events = events[events[contract.EVENT].astype("str") == "view"]
    return retailrocket.write_events(events, folder / "events.csv"), len(shop.truth["bots"])


def _run(out, path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "workbench", "run", "--params", "retailrocket", "-p", f"data.path={path}",
           "--only", "08", "--no-report", "--out", str(out)]  # 08 loads and validates the data itself
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cells = nbformat.read(str(out / "08_clickstream.ipynb"), as_version=4).cells
    errors = [o for c in cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors[:1]
    return json.loads((out / "metrics.json").read_text())["clickstream"]


@pytest.mark.slow
def test_retailrocket_layout_gets_sessions_funnel_interest_bots_and_session_recs(tmp_path):
    path, n_bots = _layout_file(tmp_path / "rr")
    out = tmp_path / "run"
    cs = _run(out, path)
    assert cs["bots"]["visitors"] == n_bots and cs["bots"]["events"] > 0
    assert cs["sessions"]["sessions"] > cs["sessions"]["visitors"] > 0
    assert 0 < cs["funnel"]["overall"]["view_to_cart"] < 1 and "time_to_purchase" in cs["funnel"]
    assert sum(cs["interest"]["top"].values()) == pytest.approx(cs["interest"]["top10_share"], abs=1e-5)
    assert {"session_pop", "session_cooc", "sknn", "vsknn"} <= set(cs["session_recs"]["models"])
    figures = {p.stem for p in (out / "figures").glob("08_*.png")}
    assert {"08_sessions", "08_funnel", "08_product_conversion", "08_time_to_purchase", "08_interest",
            "08_session_recs"} <= figures
    assert (out / "artifacts" / "sessions.parquet").exists()


@pytest.mark.slow
def test_views_only_clickstream_skips_what_needs_purchases(tmp_path):
    path, _ = _layout_file(tmp_path / "rr", views_only=True)
    cs = _run(tmp_path / "run", path)
    assert "purchase" in cs["purchases"]["skipped"]
    assert "view_to_purchase" not in cs["funnel"]["overall"] and "time_to_purchase" not in cs["funnel"]
    assert cs["funnel"]["overall"]["view_to_cart"] == 0
    assert cs["sessions"]["with_purchase"] == 0 and "session_recs" in cs

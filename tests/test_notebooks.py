"""Every numbered notebook runs end to end through the runner (papermill) on the default params;
a notebook that raises fails here. Also: same params and seed give byte-identical metrics.json."""
import json

import nbformat
import pytest

from workbench.runner import discover, run


@pytest.fixture(scope="session")
def default_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "default"
    return run("default", out=out)


def test_every_notebook_executes(default_run):
    for src in discover():
        nb = nbformat.read(str(default_run / src.name), as_version=4)
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.get("output_type") == "error"]
        assert not errors, f"{src.name}: {errors[:1]}"


def test_default_run_outputs(default_run):
    metrics = json.loads((default_run / "metrics.json").read_text())
    d = metrics["data"]
    assert d["transactions"] + d["rows_quarantined"] == d["rows_read"]
    assert d["customers"] == 1000 and d["products"] == 500
    assert any((default_run / "figures").glob("00_*.png"))
    manifest = json.loads((default_run / "manifest.json").read_text())
    assert {n["notebook"] for n in manifest["notebooks"]} == {p.name for p in discover()}
    assert "duration" not in json.dumps(metrics)


def test_same_params_same_metrics_bytes(default_run, tmp_path):
    again = run("default", out=tmp_path / "again", render=False)
    assert (again / "metrics.json").read_bytes() == (default_run / "metrics.json").read_bytes()

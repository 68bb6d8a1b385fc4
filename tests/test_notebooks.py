"""Every numbered notebook runs end to end through the runner (papermill) on the default params;
a notebook that raises fails here. Also: same params and seed give byte-identical metrics.json, and
papermill has nothing to warn about (every parameters cell parses, no unknown parameter)."""
import json
import logging
import warnings

import nbformat
import papermill
import pytest

from workbench.runner import discover, run

PAPERMILL_WARNINGS: list[str] = []


class _Collect(logging.Handler):
    def emit(self, record):
        PAPERMILL_WARNINGS.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture(scope="session")
def default_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "default"
    logger, handler = logging.getLogger("papermill"), _Collect(logging.WARNING)
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            path = run("default", out=out)
    finally:
        logger.removeHandler(handler)
    PAPERMILL_WARNINGS.extend(f"{w.category.__name__}: {w.message}" for w in caught
                              if "papermill" in str(w.filename))
    return path


def test_papermill_does_not_warn(default_run):
    assert PAPERMILL_WARNINGS == []


@pytest.mark.parametrize("notebook", discover(), ids=lambda p: p.name)
def test_parameters_cell_parses(notebook, caplog):
    """papermill reads exactly the names the runner passes, without a warning (a second ``=`` on a line,
    even inside a comment, makes it skip the line)."""
    with caplog.at_level(logging.WARNING, logger="papermill"):
        names = list(papermill.inspect_notebook(str(notebook)))
    assert names == ["params", "run_dir", "overrides"]
    assert [r.getMessage() for r in caplog.records] == []


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

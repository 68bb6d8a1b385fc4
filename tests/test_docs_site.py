"""The documentation site against a real default run: every file the run wrote is in the artifact catalog with
its columns, and the site builds strictly (``mkdocs build --strict``) with the run's gallery and results."""
from __future__ import annotations

import json

from workbench import artifacts


def test_default_run_matches_the_catalog(default_run):
    assert artifacts.uncatalogued(default_run) == []
    checked = 0
    for path in sorted(default_run.rglob("*")):
        if path.suffix not in (".parquet", ".csv") or not path.is_file():
            continue
        entry = artifacts.find(path.relative_to(default_run).as_posix())
        if entry.columns is None:
            continue
        got = artifacts.read_columns(path)
        if path.suffix == ".csv":  # read_csv infers dtypes from the values (an empty column reads as float)
            assert list(got) == list(entry.columns), path
        else:
            assert got == dict(entry.columns), path
        checked += 1
    assert checked >= 40
    assert set(json.loads((default_run / "metrics.json").read_text())) == set(artifacts.METRICS_KEYS)


def test_site_builds_strictly_from_the_default_run(docs_site):
    site, log = docs_site
    assert "WARNING" not in log, log
    for page in ("index.html", "reference/params.html", "reference/artifacts.html", "api/segment.html",
                 "notebooks/05_hybrid_ablation.html", "gallery/01_rfm_segmentation.html"):
        assert (site / page).is_file(), page
    params_page = (site / "reference" / "params.html").read_text()
    assert "hybrid.candidates" in params_page and "evaluation.k" in params_page
    assert "recs_&lt;model&gt;.parquet" in (site / "reference" / "artifacts.html").read_text()

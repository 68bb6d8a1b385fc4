"""Every numbered notebook runs end to end through the runner (papermill) on the default params;
a notebook that raises fails here. Also: same params and seed give byte-identical metrics.json, and
papermill has nothing to warn about (every parameters cell parses, no unknown parameter)."""
import json
import logging

import nbformat
import papermill
import pytest

from workbench.config import load_params
from workbench.runner import discover, run


def test_papermill_does_not_warn(default_run, papermill_warnings):
    assert papermill_warnings == []


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
    shop = load_params("default")["data"]["synthetic"]  # the shop the default params ask for
    assert d["customers"] == shop["n_customers"] and d["products"] == shop["n_products"]
    assert any((default_run / "figures").glob("00_*.png"))
    manifest = json.loads((default_run / "manifest.json").read_text())
    assert {n["notebook"] for n in manifest["notebooks"]} == {p.name for p in discover()}
    assert "duration" not in json.dumps(metrics)


def test_same_params_same_metrics_bytes(default_run, default_rerun):
    """Two runs of the default params, in two processes, write the same metrics.json and artifacts, byte for
    byte: one ran two notebooks at a time in the order their needs allow (workbench/schedule.py), the other one at
    a time."""
    assert (default_rerun / "metrics.json").read_bytes() == (default_run / "metrics.json").read_bytes()
    spans = {n["notebook"][:2]: (n["start"], n["end"])
             for n in json.loads((default_run / "manifest.json").read_text())["notebooks"]}
    assert spans["01"][0] < spans["02"][1] and spans["02"][0] < spans["01"][1]  # 01 and 02 ran side by side
    written = sorted(p.relative_to(default_run) for p in (default_run / "artifacts").rglob("*.parquet"))
    assert written == sorted(p.relative_to(default_rerun) for p in (default_rerun / "artifacts").rglob("*.parquet"))
    for path in written:
        assert (default_rerun / path).read_bytes() == (default_run / path).read_bytes(), path


def _brute_ndcg(recs, test, k: int) -> float:
    """NDCG@k with plain loops over the customers present in both the lists and the relevant pairs
    (microsoft/recommenders' evaluation), independent of workbench.evaluate."""
    import math

    relevant: dict = {}
    for u, i in zip(test["customer_id"].astype(str), test["product_id"].astype(str)):
        relevant.setdefault(u, set()).add(i)
    lists: dict = {}
    for u, i, r in sorted(zip(recs["customer_id"].astype(str), recs["product_id"].astype(str), recs["rank"]),
                          key=lambda t: (t[0], t[2])):
        lists.setdefault(u, []).append(i)
    both = set(relevant) & set(lists)
    total = 0.0
    for u in both:
        dcg = sum(1 / math.log2(p + 2) for p, i in enumerate(lists[u][:k]) if i in relevant[u])
        total += dcg / sum(1 / math.log2(p + 2) for p in range(min(len(relevant[u]), k)))
    return total / len(both)


def test_leaderboard_lists_every_model_and_its_ndcg_recomputes(default_run):
    """Every recs_<model> (hybrid variants included) is on the leaderboard, and NDCG@K recomputed from the file
    and split_test.parquet by independent code equals the leaderboard's within 0.001."""
    import pandas as pd

    ev = json.loads((default_run / "metrics.json").read_text())["evaluation"]
    k = ev["k"]
    board = {r["model"]: r for r in ev["leaderboard"]}
    files = sorted((default_run / "artifacts").glob("recs_*.parquet"))
    assert {p.stem[len("recs_"):] for p in files} == set(board)
    assert {"hybrid_default", "hybrid_tuned", "hybrid_learned", "hybrid_final", "popular", "ease"} <= set(board)
    test = pd.read_parquet(default_run / "artifacts" / "split_test.parquet")
    assert ev["test_customers"] == test["customer_id"].nunique()
    for p in files:
        model = p.stem[len("recs_"):]
        assert _brute_ndcg(pd.read_parquet(p), test, k) == pytest.approx(board[model][f"ndcg@{k}"], abs=1e-3), model


@pytest.mark.slow
def test_a_notebook_run_alone_makes_the_identical_split(default_run, tmp_path):
    """Notebook 04 run alone (no earlier notebook in its folder) writes the very split of the full run."""
    alone = run("default", out=tmp_path / "alone", only=["04"], render=False)
    for name in ("split_train.parquet", "split_test.parquet"):
        assert (alone / "artifacts" / name).read_bytes() == (default_run / "artifacts" / name).read_bytes(), name

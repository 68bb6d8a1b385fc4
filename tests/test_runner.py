"""The papermill runner: outputs, manifest, failure handling, the output-folder swap, --only."""
import json

import pytest

from workbench.errors import NotebookExecutionError
from workbench.nbtools import PARAMS_CELL, START_CELL, write_notebook
from workbench.runner import run

TINY = ["data.synthetic.n_customers=150", "data.synthetic.n_products=60", "data.synthetic.n_weeks=30"]


def make_notebooks(folder, fail_second=False):
    folder.mkdir(parents=True, exist_ok=True)
    write_notebook(folder / "00_load.ipynb", [
        ("params", PARAMS_CELL),
        ("code", START_CELL),
        ("code", "shop, report = ctx.load_data()\n"
                 "ctx.rec.save_artifact(shop.customers[['customer_id']], 'ids')\n"
                 "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(); ax.plot([1, 2])\n"
                 "ctx.rec.save_figure(fig, 'line')"),
    ])
    body = "raise ValueError('boom in stage one')" if fail_second else \
        "ctx.rec.log_metrics('segmentation', {'n': len(ctx.shop().customers), 'x': 1/3})"
    write_notebook(folder / "01_next.ipynb", [("params", PARAMS_CELL), ("code", START_CELL), ("code", body)])
    return folder


def test_run_writes_outputs_and_is_deterministic(tmp_path, capfd):
    nbs = make_notebooks(tmp_path / "nbs")
    out = run("default", out=tmp_path / "out", overrides=TINY, notebooks=nbs, render=False)
    for name in ["00_load.ipynb", "01_next.ipynb", "metrics.json", "manifest.json", "timings.json",
                 "figures/line.png", "artifacts/ids.parquet", "artifacts/data/transactions.parquet"]:
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    d = metrics["data"]
    assert d["transactions"] + d["rows_quarantined"] == d["rows_read"]
    assert metrics["segmentation"] == {"n": 150, "x": 0.333333}
    man = json.loads((out / "manifest.json").read_text())
    assert [n["notebook"] for n in man["notebooks"]] == ["00_load.ipynb", "01_next.ipynb"]
    assert man["data_fingerprint"] == d["fingerprint"] and man["versions"]["pandas"]
    assert man["params"]["data"]["synthetic"]["n_customers"] == 150
    first = (out / "metrics.json").read_bytes()
    out2 = run("default", out=tmp_path / "out2", overrides=TINY, notebooks=nbs, render=False)
    assert (out2 / "metrics.json").read_bytes() == first
    # kernels on IPC sockets: ipykernel's per-kernel warning about unencrypted TCP never reaches the terminal
    assert "without encryption" not in capfd.readouterr().err


def test_failing_notebook_keeps_previous_run_and_evidence(tmp_path):
    good = make_notebooks(tmp_path / "good")
    out = run("default", out=tmp_path / "out", overrides=TINY, notebooks=good, render=False)
    before = (out / "metrics.json").read_bytes()
    bad = make_notebooks(tmp_path / "bad", fail_second=True)
    with pytest.raises(NotebookExecutionError) as err:
        run("default", out=tmp_path / "out", overrides=TINY, notebooks=bad, render=False)
    msg = str(err.value)
    assert "01_next.ipynb" in msg and "cell" in msg and "boom in stage one" in msg
    assert (out / "metrics.json").read_bytes() == before  # previous complete run untouched
    failed = tmp_path / "out.failed" / "01_next.ipynb"
    assert failed.exists() and "boom in stage one" in failed.read_text()


def test_dead_kernel_is_reported_in_the_cell_where_it_died(tmp_path):
    # the out-of-memory killer ends a kernel with SIGKILL; the kernel kills itself the same way here
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_notebook(nbs / "00_mine.ipynb", [
        ("md", "# 00 · Mine"), ("params", PARAMS_CELL), ("code", START_CELL), ("md", "## Mining"),
        ("code", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
        ("md", "## What this tells us"), ("code", "print('never')")])
    with pytest.raises(NotebookExecutionError) as err:
        run("default", out=tmp_path / "out", overrides=TINY, notebooks=nbs, render=False)
    msg = str(err.value)
    assert "stopped in section 'Mining', cell 4: the kernel was killed by SIGKILL" in msg
    assert "out of memory" in msg and "What this tells us" not in msg and "unexpected error" not in msg


def test_manifest_params_and_report_name_the_file_passed(tmp_path):
    import yaml

    nbs = make_notebooks(tmp_path / "nbs")
    mine = tmp_path / "my.yaml"
    mine.write_text("extends: default\nname: mine\n")
    out = run(str(mine), out=tmp_path / "out", overrides=TINY, notebooks=nbs)
    man = json.loads((out / "manifest.json").read_text())
    assert man["params_file"] == str(mine.resolve()) and man["params_extends"][0].endswith("params/default.yaml")
    assert yaml.safe_load((out / "params.yaml").read_text())["_source"] == str(mine.resolve())
    html = (out / "report" / "index.html").read_text()
    assert f"params file <code>{mine.resolve()}</code> extends <code>" in html


def test_only_reruns_one_notebook_on_top_of_previous(tmp_path):
    nbs = make_notebooks(tmp_path / "nbs")
    out = run("default", out=tmp_path / "out", overrides=TINY, notebooks=nbs, render=False)
    (out / "marker.txt").write_text("kept")
    out = run("default", out=tmp_path / "out", overrides=TINY, notebooks=nbs, render=False, only=["01"])
    assert (out / "marker.txt").read_text() == "kept"
    man = json.loads((out / "manifest.json").read_text())
    assert {n["notebook"] for n in man["notebooks"]} == {"00_load.ipynb", "01_next.ipynb"}


def test_cli_validate_and_errors(capsys):
    from workbench.cli import main

    assert main(["validate", "--params", "default", "-p", "data.synthetic.n_customers=100"]) == 0
    assert "transactions" in capsys.readouterr().out
    assert main(["validate", "--params", "nope_missing"]) == 2
    assert "not found" in capsys.readouterr().err


def test_a_misspelt_key_stops_the_run_before_any_notebook_starts(tmp_path):
    from workbench.errors import ConfigError

    mine = tmp_path / "typo.yaml"
    mine.write_text("extends: default\nbasket: {min_suport: 0.1}\n")
    with pytest.raises(ConfigError, match=r"params basket: unknown key\(s\) \['min_suport'\]"):
        run(str(mine), out=tmp_path / "out", notebooks=make_notebooks(tmp_path / "nbs"), render=False)
    assert not any(tmp_path.glob("*out*"))

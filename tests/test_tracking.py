"""MLflow tracking of runs, against a real local MLflow store (SQLite) written by real notebook runs."""
import json
import logging
import os
import warnings

import numpy as np
import pandas as pd
import pytest

from workbench.nbtools import PARAMS_CELL, START_CELL, write_notebook
from workbench.runner import run
from workbench.tracking import TrackingWarning, flat_metrics, flat_params, metric_key

TINY = ["data.synthetic.n_customers=150", "data.synthetic.n_products=60", "data.synthetic.n_weeks=30"]


def make_notebooks(folder):
    folder.mkdir(parents=True, exist_ok=True)
    write_notebook(folder / "00_load.ipynb", [
        ("params", PARAMS_CELL),
        ("code", START_CELL),
        ("code", "shop, report = ctx.load_data()\n"
                 "fig, ax = plt.subplots(); ax.plot([1, 2])\n"
                 "ctx.rec.save_figure(fig, 'line')"),
    ])
    write_notebook(folder / "01_fit.ipynb", [
        ("params", PARAMS_CELL),
        ("code", START_CELL),
        ("code", "from sklearn.preprocessing import StandardScaler\n"
                 "from workbench.models import save_model\n"
                 "tx = ctx.shop().transactions\n"
                 "scaler = StandardScaler().fit(tx[['quantity', 'unit_price']].astype('float64'))\n"
                 "save_model(ctx.run_dir, 'scaler', scaler, entry='transform')\n"
                 "ctx.rec.log_metrics('segmentation', {'ndcg@10': 0.25, 'flag': True, 'label': 'x',\n"
                 "                                     'per_k': [{'k': 5, 'v': 0.5}], 'nothing': None})"),
    ])
    return folder


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """Two runs of a sweep (seed 1 and 2) written beside each other, tracked in one local store."""
    base = tmp_path_factory.mktemp("tracking")
    nbs = make_notebooks(base / "nbs")
    env = os.environ.get("MLFLOW_TRACKING_URI")
    outs = [run("default", out=base / "outputs" / f"seed{s}", overrides=[*TINY, f"seed={s}"], notebooks=nbs,
                render=False) for s in (1, 2)]
    assert os.environ.get("MLFLOW_TRACKING_URI") == env  # MLflow's global URI does not leak into later runs
    return base, outs


def client_for(out):
    from mlflow.tracking import MlflowClient

    info = json.loads((out / "tracking.json").read_text())
    return MlflowClient(tracking_uri=info["tracking_uri"]), info


def test_keys_and_flattening():
    assert metric_key("ndcg@10") == "ndcg_at_10" and metric_key("a/b c:d") == "a_b c:d"
    assert flat_metrics({"a": {"b": 1, "c": [2.5, {"d": 3}], "s": "text", "n": None, "t": True}}) == \
        {"a.b": 1.0, "a.c.0": 2.5, "a.c.1.d": 3.0, "a.t": 1.0}
    assert flat_params({"data": {"synthetic": {"n": 5}}, "k_range": [2, 8], "_source": "x", "name": "d"}) == \
        {"data.synthetic.n": "5", "k_range": "[2, 8]", "name": "d"}


def test_run_becomes_one_mlflow_run_with_nested_notebooks(tracked):
    base, (out, _) = tracked
    assert (base / "outputs" / "mlflow" / "mlflow.db").exists()  # the local store beside the run folders
    client, info = client_for(out)
    r = client.get_run(info["run_id"])
    man = json.loads((out / "manifest.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert r.info.status == "FINISHED"
    assert r.data.params["data.synthetic.n_customers"] == "150" and r.data.params["seed"] == "1"
    assert r.data.metrics["data.transactions"] == metrics["data"]["transactions"]
    assert r.data.metrics["segmentation.ndcg_at_10"] == 0.25 and r.data.metrics["segmentation.flag"] == 1.0
    assert "segmentation.label" not in r.data.metrics and r.data.metrics["segmentation.per_k.0.v"] == 0.5
    assert r.data.tags["workbench.git_commit"] == (man["git_commit"] or "")
    assert r.data.tags["workbench.data_fingerprint"] == man["data_fingerprint"] == metrics["data"]["fingerprint"]
    assert r.data.tags["workbench.params_name"] == "default"
    assert "seed=1" in r.data.tags["workbench.overrides"]
    top = {a.path for a in client.list_artifacts(r.info.run_id)}
    assert {"notebooks", "figures", "metrics.json", "manifest.json", "params.yaml"} <= top
    assert {a.path for a in client.list_artifacts(r.info.run_id, "notebooks")} == \
        {"notebooks/00_load.ipynb", "notebooks/01_fit.ipynb"}
    assert [a.path for a in client.list_artifacts(r.info.run_id, "figures")] == ["figures/line.png"]
    local = client.download_artifacts(r.info.run_id, "metrics.json", str(base))
    assert json.loads(open(local).read()) == metrics
    kids = client.search_runs([r.info.experiment_id], f"tags.mlflow.parentRunId = '{r.info.run_id}'")
    assert sorted(k.data.tags["mlflow.runName"] for k in kids) == ["00_load.ipynb", "01_fit.ipynb"]
    durations = {n["notebook"]: n["duration_s"] for n in man["notebooks"]}
    assert {k.data.tags["mlflow.runName"]: k.data.metrics["duration_s"] for k in kids} == durations


def test_sweep_runs_are_comparable_in_one_experiment(tracked):
    _, outs = tracked
    infos = [client_for(o)[1] for o in outs]
    client = client_for(outs[0])[0]
    assert infos[0]["experiment_id"] == infos[1]["experiment_id"]
    parents = client.search_runs([infos[0]["experiment_id"]], "tags.`workbench.params_name` = 'default' "
                                 "and attributes.run_name LIKE 'default%'")
    assert {p.data.params["seed"] for p in parents} == {"1", "2"}
    fps = {p.data.tags["workbench.data_fingerprint"] for p in parents}
    assert len(fps) == 2  # a different seed draws a different shop


def test_saved_models_are_logged_as_mlflow_models(tracked):
    import mlflow

    _, (out, _) = tracked
    client, info = client_for(out)
    logged = client.search_logged_models([info["experiment_id"]])
    mine = [m for m in logged if m.source_run_id == info["run_id"]]
    assert [m.name for m in mine] == ["scaler"]
    mlflow.set_tracking_uri(info["tracking_uri"])
    pyfunc = mlflow.pyfunc.load_model(mine[0].model_uri)
    tx = pd.read_parquet(out / "artifacts" / "data" / "transactions.parquet")[["quantity", "unit_price"]]
    X = tx.astype("float64")
    from sklearn.preprocessing import StandardScaler

    from workbench import load_model

    expected = StandardScaler().fit(X).transform(X)  # the same fit, redone here
    np.testing.assert_array_equal(np.asarray(pyfunc.predict(X)), expected)
    np.testing.assert_array_equal(load_model(out, "scaler").transform(X), expected)


def test_tracking_failure_is_a_warning_and_keeps_the_run(tmp_path):
    nbs = make_notebooks(tmp_path / "nbs")
    (tmp_path / "not_a_folder").write_text("a file where the store's folder should be")
    uri = f"sqlite:///{tmp_path / 'not_a_folder' / 'mlflow.db'}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = run("default", out=tmp_path / "out", overrides=[*TINY, f"tracking.uri={uri}"], notebooks=nbs,
                  render=False)
    msgs = [str(w.message) for w in caught if issubclass(w.category, TrackingWarning)]
    assert len(msgs) == 1 and "outputs" in msgs[0] and "complete" in msgs[0]
    assert (out / "metrics.json").exists() and (out / "01_fit.ipynb").exists()
    assert not (out / "tracking.json").exists()


def test_tracking_off(tmp_path):
    nbs = make_notebooks(tmp_path / "nbs")
    out = run("default", out=tmp_path / "out", overrides=[*TINY, "tracking.enabled=false"], notebooks=nbs,
              render=False, only=["00"])
    assert not (out / "tracking.json").exists() and not (tmp_path / "mlflow").exists()


def test_logging_a_saved_model_to_mlflow_warns_nothing(tmp_path, caplog):
    """The pyfunc wrapper takes free-form DataFrames: MLflow neither asks for type hints nor warns about
    signatures or pickling (warnings a user could do nothing about)."""
    import mlflow
    from sklearn.preprocessing import StandardScaler

    from workbench.models import log_mlflow_model, save_model

    save_model(tmp_path / "run", "scaler", StandardScaler().fit(np.arange(6.0).reshape(3, 2)))
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        experiment = mlflow.create_experiment("quiet", artifact_location=(tmp_path / "artifacts").as_uri())
        with warnings.catch_warnings(record=True) as caught, caplog.at_level("WARNING", logger="mlflow"):
            warnings.simplefilter("always")
            with mlflow.start_run(experiment_id=experiment):
                log_mlflow_model(tmp_path / "run", "scaler")
    finally:
        mlflow.set_tracking_uri(None)
    assert [str(w.message) for w in caught if issubclass(w.category, UserWarning) and "mlflow" in w.filename] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_store_still_being_created_by_another_run_is_tried_again(tracked, tmp_path, monkeypatch, caplog):
    """Two runs finishing together beside each other both create the new SQLite store: the one that loses the race
    (here: the first two attempts see a locked database) tries again and is tracked."""
    import shutil

    from workbench import tracking

    base, outs = tracked
    run_dir = tmp_path / "outputs" / "seed1"
    shutil.copytree(outs[0], run_dir)
    (run_dir / "tracking.json").unlink()
    real, failures = tracking._client, []

    def locked_at_first(uri):
        if len(failures) < 2:
            failures.append(uri)
            raise RuntimeError("(sqlite3.OperationalError) database is locked")
        return real(uri)

    monkeypatch.setattr(tracking, "_client", locked_at_first)
    with caplog.at_level(logging.INFO, logger="workbench.tracking"):
        tracked_run = tracking.track_run(run_dir)
    assert tracked_run is not None and (run_dir / "tracking.json").exists() and len(failures) == 2
    assert caplog.text.count("not ready (RuntimeError: (sqlite3.OperationalError) database is locked)") == 2

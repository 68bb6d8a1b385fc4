"""A real standalone Spark cluster on this machine: a master and two one-core workers started with the scripts
inside pyspark (``bin/spark-class``: the wheel has no ``sbin/start-*.sh``), the batch submitted to it from a
separate process (``python -m workbench batch --engine spark --master spark://...``), its artifacts checked,
the daemons stopped by the process ids this test started. ``make spark-cluster-test`` runs only this."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml

from workbench.data import contract

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def _start(args: list[str], log: Path, env: dict) -> subprocess.Popen:
    cmd = [str(_spark_home() / "bin" / "spark-class"), *args]
    return subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # the session this test started (spark-class execs java in it)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _state(ui_port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=5) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def cluster(spark_ready, tmp_path_factory):
    """``(master URL, web UI port)`` of a running master with two registered workers; stopped afterwards."""
    logs = tmp_path_factory.mktemp("spark-cluster")
    env = {**os.environ, "SPARK_HOME": str(_spark_home()), "PYSPARK_PYTHON": sys.executable,
           "SPARK_LOCAL_DIRS": str(logs), "SPARK_WORKER_DIR": str(logs / "work")}
    port, ui = _free_port(), _free_port()
    procs = [_start(["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                     "--webui-port", str(ui)], logs / "master.log", env)]
    url = f"spark://127.0.0.1:{port}"
    try:
        for i in range(2):
            procs.append(_start(["org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores", "1",
                                 "--memory", "1g", "--webui-port", str(_free_port())], logs / f"worker{i}.log", env))
        deadline = time.time() + 120
        alive = 0
        while time.time() < deadline:
            try:
                alive = sum(w["state"] == "ALIVE" for w in _state(ui)["workers"])
            except OSError:
                alive = 0
            if alive == 2:
                break
            if any(p.poll() is not None for p in procs):
                break
            time.sleep(1)
        if alive != 2:
            raise RuntimeError(f"the standalone cluster did not start ({alive} of 2 workers alive); logs in {logs}: "
                               + (logs / "master.log").read_text()[-2000:])
        yield url, ui
    finally:
        for p in reversed(procs):
            _stop(p)


def test_batch_runs_on_a_standalone_cluster(cluster, parity_params, tmp_path):
    url, ui = cluster
    params = tmp_path / "cluster.yaml"
    params.write_text(yaml.safe_dump(parity_params))
    out = tmp_path / "run"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.run([sys.executable, "-m", "workbench", "batch", "--params", str(params), "--engine", "spark",
                           "--master", url, "--out", str(out)], env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the application ran on the cluster's executors (the master lists it as completed)
    apps = _state(ui)["completedapps"]
    assert any(a["name"] == "workbench" for a in apps), apps
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["batch"]["engine"] == "spark"
    seg = pd.read_parquet(out / "artifacts" / "customer_segments.parquet")
    assert len(seg) == metrics["data"][contract.CUSTOMERS] == 2000
    assert seg["segment"].notna().all() and (seg["cluster"] >= -1).all()
    recs = pd.read_parquet(out / "artifacts" / "recs_als.parquet")
    assert recs.groupby(contract.CUSTOMER_ID)["rank"].max().max() == 10
    assert len(recs[contract.CUSTOMER_ID].unique()) == metrics["batch"]["stages"]["als"]["customers"]
    rules = pd.read_parquet(out / "artifacts" / "rules.parquet")
    assert len(rules) == metrics["batch"]["stages"]["rules"]["rules"] > 0

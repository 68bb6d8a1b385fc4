"""MLflow tracking of a finished run: one MLflow run per workbench run, one nested run per notebook.

After the runner has swapped a complete run folder into place, :func:`track_run` records it:

* params: the run's params, flattened (``data.synthetic.n_customers``), lists as JSON;
* metrics: every number of ``metrics.json``, flattened the same way (``hybrid.ndcg_at_10``);
* tags: git commit, data fingerprint, params name and file, the ``-p`` overrides, the run folder;
* artifacts: the executed notebooks, ``figures/``, ``report/``, ``metrics.json``, ``manifest.json``,
  ``params.yaml``, and the saved models (``artifacts/models/``) as MLflow models;
* nested runs: one per executed notebook, with its duration and the executed notebook.

The ``tracking`` params block (defaults in :data:`DEFAULTS`) switches it off or points it elsewhere.
Without a ``uri`` the store is a SQLite database beside the run folder (``outputs/mlflow/mlflow.db`` for
the usual ``outputs/<name>/``; the file store is refused by this MLflow), so a ``-p`` sweep writing to
``outputs/`` lands in one experiment, as comparable runs. Tracking happens after the outputs are safely in
place: any failure is logged as a warning and the run stays as written. The MLflow run id is written to
``tracking.json`` in the run folder.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from workbench.config import stage

log = logging.getLogger(__name__)

#: the ``tracking`` params block
DEFAULTS: dict = {
    "enabled": True,          # false: the run is not recorded in MLflow
    "uri": None,              # an MLflow tracking URI; None = sqlite:///<folder above the run>/mlflow/mlflow.db
    "experiment": "workbench",  # the MLflow experiment runs are recorded in
    "log_models": True,       # log artifacts/models/* as MLflow (pyfunc) models
}
#: the local store's folder, beside the run folders
STORE_DIR = "mlflow"
TRACKING_FILE = "tracking.json"
#: run-folder entries logged as artifacts (files or folders), besides the executed notebooks
RUN_ARTIFACTS = ("metrics.json", "manifest.json", "params.yaml", "timings.json", "figures", "report")
TAG_PREFIX = "workbench."
_BATCH = 100  # MLflow takes at most 100 params and 1,000 metrics per batch call
_KEY_OK = re.compile(r"[^/\w.\- :]")
_MAX_PARAM_VALUE = 6000


@dataclass(frozen=True)
class Tracked:
    """Where a run was recorded: the tracking URI, the experiment and the MLflow run id."""

    uri: str
    experiment_id: str
    run_id: str
    child_run_ids: dict[str, str]

    def to_dict(self) -> dict:
        return {"tracking_uri": self.uri, "experiment_id": self.experiment_id, "run_id": self.run_id,
                "notebook_runs": self.child_run_ids}


def settings(params: dict) -> dict:
    """The ``tracking`` params block merged over :data:`DEFAULTS`."""
    return stage(params, "tracking", DEFAULTS)


def store_dir(run_dir: str | Path) -> Path:
    """The default local store of runs written beside ``run_dir``: ``<run_dir>/../mlflow``."""
    return Path(run_dir).resolve().parent / STORE_DIR


def tracking_uri(cfg: dict, run_dir: str | Path) -> str:
    """The tracking URI: ``tracking.uri``, else ``$MLFLOW_TRACKING_URI``, else the local SQLite store."""
    uri = cfg.get("uri") or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return str(uri)
    return f"sqlite:///{store_dir(run_dir) / 'mlflow.db'}"


def metric_key(key: str) -> str:
    """``key`` in the characters MLflow accepts (``ndcg@10`` -> ``ndcg_at_10``)."""
    key = _KEY_OK.sub("_", key.replace("@", "_at_"))
    return key.replace("/", "_")[:250]


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(dotted.key, leaf)`` for every leaf of nested dicts; lists are leaves."""
    if isinstance(value, dict):
        for k in sorted(value, key=str):
            yield from flatten(value[k], f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, value


def flat_params(params: dict) -> dict[str, str]:
    """The params as MLflow params: dotted keys, strings (lists and mappings as JSON)."""
    out = {}
    for key, value in flatten({k: v for k, v in params.items() if not str(k).startswith("_")}):
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
        out[metric_key(key)] = text[:_MAX_PARAM_VALUE]
    return out


def flat_metrics(metrics: dict) -> dict[str, float]:
    """Every finite number of ``metrics.json`` (booleans as 0/1), under dotted keys; lists by position."""
    out: dict[str, float] = {}

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for k in sorted(value, key=str):
                walk(value[k], f"{key}.{k}" if key else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{key}.{i}")
        elif isinstance(value, (int, float)) and not (isinstance(value, float) and not math.isfinite(value)):
            out.setdefault(metric_key(key), float(value))

    walk(metrics, "")
    return out


def _ms(iso: str | None) -> int | None:
    return int(datetime.fromisoformat(iso).timestamp() * 1000) if iso else None


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def _experiment(client, name: str, artifact_root: Path | None) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = (artifact_root / name).as_uri() if artifact_root else None
    return client.create_experiment(name, artifact_location=location)


#: attempts at opening the store and its experiment (two runs finishing at once both create a new SQLite store)
STORE_ATTEMPTS = 4


def _store(uri: str, experiment: str, artifact_root: Path | None):
    """The client and the experiment id. Two runs that finish together beside each other both create the new
    SQLite store's tables, or the experiment, and one of them loses the race (a locked database, a unique
    constraint): it tries again after a pause, when the other's tables and experiment are there to use."""
    attempt = 1
    while True:
        try:
            client = _client(uri)
            return client, _experiment(client, experiment, artifact_root)
        except Exception as exc:  # the store's own errors (SQLAlchemy, MLflow) differ by backend
            if attempt == STORE_ATTEMPTS:
                raise
            log.info("MLflow store %s not ready (%s: %s); trying again", uri, type(exc).__name__, exc)
            time.sleep(0.5 * attempt)
            attempt += 1


def _client(uri: str):
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # runs stay on this machine unless asked otherwise
    with warnings.catch_warnings():  # MLflow's store warns about its own SQLAlchemy usage
        warnings.simplefilter("ignore")
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        client.search_experiments(max_results=1)  # creates the SQLite schema now, inside the filter
    return client


def _log_batches(client, run_id: str, params: dict[str, str], metrics: dict[str, float], ts: int) -> None:
    from mlflow.entities import Metric, Param

    items = sorted(params.items())
    for s in range(0, len(items), _BATCH):
        client.log_batch(run_id, params=[Param(k, v) for k, v in items[s:s + _BATCH]])
    mets = sorted(metrics.items())
    for s in range(0, len(mets), 10 * _BATCH):
        client.log_batch(run_id, metrics=[Metric(k, v, ts, 0) for k, v in mets[s:s + 10 * _BATCH]])


def run_name(params: dict, overrides: list[str] | None) -> str:
    """A readable run name: the params name and its overrides (``default seed=7``)."""
    return " ".join([str(params.get("name", "run")), *(overrides or [])])[:250]


def override_texts(overrides: list[str] | dict | None) -> list[str]:
    """The ``-p`` overrides as ``key.sub=value`` texts (a nested dict of overrides flattened)."""
    if isinstance(overrides, dict):
        return [f"{k}={json.dumps(v, default=str) if not isinstance(v, str) else v}" for k, v in flatten(overrides)]
    return [str(o) for o in overrides or []]


def track_run(run_dir: str | Path, overrides: list[str] | dict | None = None,
              only: list[str] | None = None) -> Tracked | None:
    """Record the finished run in ``run_dir`` in MLflow; return where, or ``None`` when off or failed.

    Never raises: a tracking failure is a warning (logged and issued) and leaves the run folder as it was,
    apart from ``tracking.json``, which is written only on success.
    """
    run_dir = Path(run_dir)
    manifest = _read_json(run_dir / "manifest.json")
    params = manifest.get("params") or {}
    cfg = settings(params)
    if not cfg.get("enabled", True):
        return None
    uri = tracking_uri(cfg, run_dir)
    overrides = override_texts(overrides)
    try:
        tracked = _track(run_dir, manifest, params, cfg, uri, overrides, only)
    except Exception as exc:  # any failure of the store, the network or MLflow itself
        msg = f"MLflow tracking to {uri} failed ({type(exc).__name__}: {exc}); the run's outputs in {run_dir} are complete"
        log.warning(msg)
        warnings.warn(msg, TrackingWarning, stacklevel=2)
        return None
    (run_dir / TRACKING_FILE).write_text(json.dumps(tracked.to_dict(), indent=2, sort_keys=True) + "\n")
    log.info("tracked as MLflow run %s (%s)", tracked.run_id, uri)
    return tracked


class TrackingWarning(UserWarning):
    """MLflow tracking failed; the run itself is complete."""


def _track(run_dir: Path, manifest: dict, params: dict, cfg: dict, uri: str, overrides, only) -> Tracked:
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

    local = None if cfg.get("uri") or os.environ.get("MLFLOW_TRACKING_URI") else store_dir(run_dir) / "artifacts"
    client, exp_id = _store(uri, str(cfg.get("experiment") or DEFAULTS["experiment"]), local)
    now = int(datetime.now(timezone.utc).timestamp() * 1000)
    tags = {
        "mlflow.source.git.commit": manifest.get("git_commit") or "",
        "mlflow.source.name": "workbench run",
        f"{TAG_PREFIX}git_commit": manifest.get("git_commit") or "",
        f"{TAG_PREFIX}data_fingerprint": manifest.get("data_fingerprint") or "",
        f"{TAG_PREFIX}params_name": str(params.get("name", "")),
        f"{TAG_PREFIX}params_file": manifest.get("params_file") or "",
        f"{TAG_PREFIX}overrides": " ".join(overrides or []),
        f"{TAG_PREFIX}only": ",".join(only or []),
        f"{TAG_PREFIX}run_dir": str(run_dir.resolve()),
        f"{TAG_PREFIX}run_id": workbench_run_id(manifest),
    }
    parent = client.create_run(exp_id, start_time=_ms(manifest.get("started")) or now,
                               tags={**tags, MLFLOW_RUN_NAME: run_name(params, overrides)})
    pid = parent.info.run_id
    try:
        if cfg.get("log_models", True):
            # before the metrics: MLflow's log_model copies every metric the run holds onto the model, one query
            # per metric (with thousands of metrics, most of the tracking time)
            _log_models(uri, pid, run_dir)
        _log_batches(client, pid, flat_params(params), flat_metrics(_read_json(run_dir / "metrics.json")), now)
        for nb in sorted(run_dir.glob("[0-9][0-9]_*.ipynb")):
            client.log_artifact(pid, str(nb), "notebooks")
        for name in RUN_ARTIFACTS:
            p = run_dir / name
            if p.is_dir():
                client.log_artifacts(pid, str(p), name)
            elif p.is_file():
                client.log_artifact(pid, str(p))
        children = {}
        for nb in manifest.get("notebooks", []):
            child = client.create_run(exp_id, start_time=_ms(nb.get("start")) or now,
                                      tags={**tags, MLFLOW_PARENT_RUN_ID: pid, MLFLOW_RUN_NAME: nb["notebook"],
                                            f"{TAG_PREFIX}notebook": nb["notebook"],
                                            **({f"{TAG_PREFIX}skipped": str(nb["skipped"])} if nb.get("skipped") else {})})
            cid = child.info.run_id
            _log_batches(client, cid, {"notebook": nb["notebook"]}, {"duration_s": float(nb["duration_s"])}, now)
            if (run_dir / nb["notebook"]).exists():
                client.log_artifact(cid, str(run_dir / nb["notebook"]))
            client.set_terminated(cid, "FINISHED", end_time=_ms(nb.get("end")) or now)
            children[nb["notebook"]] = cid
    except BaseException:
        client.set_terminated(pid, "FAILED")
        raise
    client.set_terminated(pid, "FINISHED", end_time=_ms(manifest.get("ended")) or now)
    return Tracked(uri, exp_id, pid, children)


def workbench_run_id(manifest: dict) -> str:
    """The workbench's own id of a run: params name and start time (``default-20261127T110000Z``)."""
    started = manifest.get("started")
    stamp = datetime.fromisoformat(started).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ") if started else "unknown"
    return f"{(manifest.get('params') or {}).get('name', 'run')}-{stamp}"


def _log_models(uri: str, run_id: str, run_dir: Path) -> None:
    """Log every saved model of the run (``artifacts/models/<name>``) as an MLflow pyfunc model."""
    from workbench import models

    names = models.saved_models(run_dir)
    if not names:
        return
    import mlflow

    from mlflow.tracking._tracking_service import utils as tracking_utils

    # the fluent API needs a global URI, and setting it also sets $MLFLOW_TRACKING_URI: both are put back after
    previous, previous_env = tracking_utils._tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    quiet = logging.getLogger("mlflow")
    level, bar = quiet.level, os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")
    quiet.setLevel(logging.ERROR)  # its notes on pickled python models and artifact download bars
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    try:
        with mlflow.start_run(run_id=run_id), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in names:
                models.log_mlflow_model(run_dir, name)
    finally:
        quiet.setLevel(level)
        if bar is None:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)
        else:
            os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = bar
        mlflow.set_tracking_uri(previous)
        if previous_env is not None:
            os.environ["MLFLOW_TRACKING_URI"] = previous_env

"""Recording a run's results: ``metrics.json`` (deterministic), ``timings.json``, artifacts, figures.

Notebooks never edit JSON by hand: they call :meth:`RunRecorder.log_metrics` with a stage name
(``data``, ``segmentation``, ``recommenders``, ``basket``, ``hybrid``, ``pricing``, ``evaluation``, ``clickstream``)
and a dict. Values are normalised (numpy -> Python, floats rounded to 6 decimals, NaN -> null) and
written with sorted keys, so the same run gives the same bytes. Durations go to ``timings.json``.
"""
from __future__ import annotations

import json
import logging
import math
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
TIMINGS_FILE = "timings.json"
ARTIFACTS_DIR = "artifacts"
FIGURES_DIR = "figures"
STAGES = ("data", "segmentation", "recommenders", "rating", "basket", "hybrid", "pricing", "evaluation", "clickstream")


def to_jsonable(value: Any, digits: int = 6) -> Any:
    """``value`` as plain JSON types: numpy scalars/arrays, pandas objects, tuples; floats rounded."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        seq = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [to_jsonable(v, digits) for v in seq]
    if isinstance(value, pd.DataFrame):
        return to_jsonable(value.to_dict(orient="records"), digits)
    if isinstance(value, pd.Series):
        return to_jsonable(value.to_dict(), digits)
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist(), digits)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isnan(f) or math.isinf(f):
            return None
        r = round(f, digits)
        return 0.0 if r == 0 else r
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return str(pd.Timestamp(value))
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold the run folder's lock: notebooks that run side by side (separate processes) read, change and write
    ``metrics.json`` and ``timings.json`` one at a time (an advisory lock on the folder itself, so nothing is
    added to the run)."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system: notebooks run one at a time there
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    tmp.replace(path)


class RunRecorder:
    """Writes one run folder: ``metrics.json``, ``timings.json``, ``artifacts/``, ``figures/``."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / ARTIFACTS_DIR).mkdir(exist_ok=True)
        (self.run_dir / FIGURES_DIR).mkdir(exist_ok=True)

    # ---- metrics ---------------------------------------------------------------------------
    @property
    def metrics_path(self) -> Path:
        return self.run_dir / METRICS_FILE

    def metrics(self) -> dict:
        """The metrics recorded so far (empty dict if none)."""
        return json.loads(self.metrics_path.read_text()) if self.metrics_path.exists() else {}

    def log_metrics(self, stage: str, values: dict, replace: bool = False) -> dict:
        """Merge ``values`` into ``metrics.json`` under ``stage`` (or replace the stage) and return it.

        The merge goes one level down: a value that is a dict updates the dict already there (a notebook that
        logs a model's ranking metrics again keeps what an earlier notebook added to that model)."""
        vals = to_jsonable(values)
        with _locked(self.run_dir):
            data = self.metrics()
            if replace or not isinstance(data.get(stage), dict):
                data[stage] = vals
            else:
                for key, val in vals.items():
                    old = data[stage].get(key)
                    if isinstance(val, dict) and isinstance(old, dict):
                        old.update(val)
                    else:
                        data[stage][key] = val
            _write_json(self.metrics_path, data)
        return data[stage]

    def set_metric(self, path: str, value: Any) -> None:
        """Set the value at a dotted ``path`` of ``metrics.json`` (``segmentation.clv``), creating the parents."""
        keys = path.split(".")
        with _locked(self.run_dir):
            data = self.metrics()
            node = data
            for key in keys[:-1]:
                if not isinstance(node.get(key), dict):
                    node[key] = {}
                node = node[key]
            node[keys[-1]] = to_jsonable(value)
            _write_json(self.metrics_path, data)

    def locked(self):
        """A context manager holding the run folder's lock (what :meth:`log_metrics` holds while it writes): for
        a notebook that makes an artifact other notebooks running beside it may make or read too."""
        return _locked(self.run_dir)

    # ---- timings ---------------------------------------------------------------------------
    def log_timing(self, stage: str, name: str, seconds: float) -> None:
        """Record a duration in ``timings.json`` (never in ``metrics.json``)."""
        path = self.run_dir / TIMINGS_FILE
        with _locked(self.run_dir):
            data = json.loads(path.read_text()) if path.exists() else {}
            data.setdefault(stage, {})[name] = round(float(seconds), 4)
            _write_json(path, data)

    def log_timings(self, stage: str, name: str, seconds: dict[str, float]) -> None:
        """Record named durations under ``stage.name`` in ``timings.json`` (e.g. a notebook's sections)."""
        path = self.run_dir / TIMINGS_FILE
        with _locked(self.run_dir):
            data = json.loads(path.read_text()) if path.exists() else {}
            data.setdefault(stage, {})[name] = {k: round(float(v), 4) for k, v in seconds.items()}
            _write_json(path, data)

    @contextmanager
    def timer(self, stage: str, name: str) -> Iterator[None]:
        """Context manager timing its block into ``timings.json``."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.log_timing(stage, name, time.perf_counter() - t0)

    # ---- artifacts -------------------------------------------------------------------------
    def artifact_path(self, name: str) -> Path:
        """Path of an artifact by file name (``.parquet`` added when no suffix is given)."""
        p = self.run_dir / ARTIFACTS_DIR / name
        if not p.suffix:
            p = p.with_suffix(".parquet")
        return p

    def save_artifact(self, df: pd.DataFrame, name: str) -> Path:
        """Write a table to ``artifacts/<name>`` as Parquet (or CSV if the name ends in .csv)."""
        path = self.artifact_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".csv":
            df.to_csv(path, index=False)
        else:
            df.to_parquet(path, index=False)
        return path

    def has_artifact(self, name: str) -> bool:
        """Whether the artifact exists."""
        return self.artifact_path(name).exists()

    def load_artifact(self, name: str) -> pd.DataFrame:
        """Read an artifact written by this or an earlier notebook of the run."""
        path = self.artifact_path(name)
        if not path.exists():
            raise FileNotFoundError(f"artifact '{path}' not found: run the notebook that writes it first")
        return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)

    # ---- figures ---------------------------------------------------------------------------
    def save_figure(self, fig, name: str, dpi: int = 110) -> Path:
        """Save a matplotlib figure as ``figures/<name>.png`` and return the path."""
        path = self.run_dir / FIGURES_DIR / (name if name.endswith(".png") else f"{name}.png")
        fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
        return path

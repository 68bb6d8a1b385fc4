"""Comparing runs: every ``outputs/*/metrics.json`` (+ params and manifest) as one row of a DataFrame.

A parameter sweep is a loop of runs with ``-p`` overrides into separate ``--out`` folders; :func:`load_runs`
puts them side by side (columns ``params.<key>``, ``metrics.<stage>.<key>``, ``manifest.<key>``) and
:func:`workbench.plots.evaluation.compare_runs` plots a metric across them.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

log = logging.getLogger(__name__)

#: manifest fields worth a column (the rest, e.g. per-notebook times, stays in the manifest)
MANIFEST_FIELDS = ("git_commit", "data_fingerprint", "started", "ended", "duration_s", "params_file")


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``{"a.b.c": value}``; lists (and empty dicts) become JSON text, so cells are scalars."""
    if isinstance(d, dict) and d:
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: _scalar(d)}


def _scalar(v: Any) -> Any:
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, sort_keys=True, default=str)
    return v


def run_name(run_dir: Path) -> str:
    """A run's name: its folder name, without the runner's ``.<name>.tmp`` wrapping while it is running."""
    name = Path(run_dir).name
    if name.startswith(".") and name.endswith(".tmp"):
        name = name[1:-4]
    return name


def load_run(run_dir: str | Path, name: str | None = None) -> dict[str, Any] | None:
    """One run folder as a flat row (``run``, ``path``, ``params.*``, ``metrics.*``, ``manifest.*``), or None."""
    run_dir = Path(run_dir)
    mpath = run_dir / "metrics.json"
    if not mpath.is_file():
        return None
    try:
        metrics = json.loads(mpath.read_text())
    except json.JSONDecodeError as exc:
        log.warning("skipping %s: metrics.json is not valid JSON (%s)", run_dir, exc)
        return None
    manifest = {}
    if (run_dir / "manifest.json").is_file():
        manifest = json.loads((run_dir / "manifest.json").read_text())
    params = manifest.get("params")
    if params is None and (run_dir / "params.yaml").is_file():
        params = yaml.safe_load((run_dir / "params.yaml").read_text())
    params = {k: v for k, v in (params or {}).items() if not str(k).startswith("_")}
    row: dict[str, Any] = {"run": name or run_name(run_dir), "path": str(run_dir)}
    row.update(flatten(params, "params"))
    row.update(flatten(metrics, "metrics"))
    row.update({f"manifest.{k}": _scalar(manifest.get(k)) for k in MANIFEST_FIELDS})
    return row


def load_runs(outputs_dir: str | Path, extra: list[str | Path] | None = None) -> pd.DataFrame:
    """One row per run folder in ``outputs_dir`` holding a ``metrics.json`` (hidden and ``.failed`` folders
    skipped), plus the folders in ``extra`` (a run in progress replaces the finished run of the same name)."""
    outputs_dir = Path(outputs_dir)
    rows: dict[str, dict] = {}
    dirs = sorted(p for p in outputs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and not p.name.endswith(".failed")) if outputs_dir.is_dir() else []
    for d in [*dirs, *map(Path, extra or [])]:
        row = load_run(d)
        if row is not None:
            rows[row["run"]] = row
    if not rows:
        return pd.DataFrame(columns=["run", "path"])
    df = pd.DataFrame([rows[k] for k in sorted(rows)])
    front = ["run", "path"]
    cols = front + sorted(c for c in df.columns if c not in front)
    return df[cols].reset_index(drop=True)


def varying(runs: pd.DataFrame, prefix: str = "params.") -> list[str]:
    """Columns starting with ``prefix`` whose value differs between runs (what a sweep changed)."""
    cols = [c for c in runs.columns if c.startswith(prefix)]
    return [c for c in cols if runs[c].astype("string").fillna("<missing>").nunique() > 1]


def metric_columns(runs: pd.DataFrame, contains: str = "") -> list[str]:
    """Numeric ``metrics.*`` columns (optionally those containing ``contains``)."""
    out = []
    for c in runs.columns:
        if c.startswith("metrics.") and contains in c and pd.api.types.is_numeric_dtype(runs[c]) \
                and not pd.api.types.is_bool_dtype(runs[c]):
            out.append(c)
    return out


#: params that differ between unrelated runs by construction, not because a sweep changed them
BOOKKEEPING = ("params.name", "params.notebooks", "params.data.")
#: the metric notebook 07 records for every run (``best_ndcg@<K>`` at the run's K), so runs can be compared on it
BEST_NDCG_PREFIX = "metrics.evaluation.best_ndcg@"


def best_ndcg_column(runs: pd.DataFrame) -> str | None:
    """The ``best_ndcg@K`` column most runs recorded (runs at another K are not comparable on it), or None."""
    cols = [c for c in runs.columns if c.startswith(BEST_NDCG_PREFIX)]
    return max(cols, key=lambda c: (runs[c].notna().sum(), c)) if cols else None


def swept(runs: pd.DataFrame, limit: int = 6) -> list[str]:
    """The varying ``params.*`` columns a sweep changed (bookkeeping like name and data paths left out)."""
    cols = [c for c in varying(runs) if not c.startswith(BOOKKEEPING)]
    return cols[:limit]


def comparison_table(runs: pd.DataFrame, metrics: list[str] | None = None) -> pd.DataFrame:
    """A compact view of ``runs``: run, data source, swept params, and ``metrics`` (default: best model and
    its NDCG@K as recorded by notebook 07), sorted by run name."""
    metrics = metrics if metrics is not None else ["metrics.evaluation.best_model", best_ndcg_column(runs)]
    cols = ["run", "metrics.data.source", *swept(runs), *metrics]
    cols = [c for c in dict.fromkeys(cols) if c in runs.columns]
    return runs[cols].sort_values("run").reset_index(drop=True)


def sweep_axis(runs: pd.DataFrame, metric: str | None = None) -> str | None:
    """The first numeric swept param among the runs that recorded ``metric`` (default: the best NDCG@K column),
    the x axis of a sweep plot."""
    metric = metric or best_ndcg_column(runs)
    if metric not in runs.columns:
        return None
    have = runs[runs[metric].notna()]
    if len(have) < 2:
        return None
    for c in swept(have):
        if pd.api.types.is_numeric_dtype(have[c]) and have[c].notna().sum() >= 2:
            return c
    return None

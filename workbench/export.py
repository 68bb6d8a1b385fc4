"""Export a run's results to SQL tables for serving and BI: ``python -m workbench export --run DIR --to URL``.

Four artifacts become four tables (:data:`TABLES`): ``customer_segments``, ``recommendations`` (with
confidence and explanation), ``pricing_suggestions`` and ``item_similarity``, plus ``workbench_runs`` with
one row per exported run. Every row carries the run's id (``run_id``); the primary key is the run id and
the table's own key, and ``customer_id`` / ``product_id`` columns are indexed. Re-exporting a run deletes
its rows and writes them again, in one transaction, so a run is never half there nor doubled.

Any SQLAlchemy URL works (``postgresql://user:pw@host/db``, ``mysql+pymysql://...``); the default is a
SQLite file beside the run folders (``outputs/workbench.db``). A table whose artifact the run lacks (the
notebook that writes it did not run) is skipped with the reason.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from workbench.data import contract
from workbench.errors import WorkbenchError
from workbench.report.record import ARTIFACTS_DIR

log = logging.getLogger(__name__)

RUN_ID = "run_id"
RUNS_TABLE = "workbench_runs"
DEFAULT_DB = "workbench.db"
#: text columns that are keys or indexed get a length (MySQL cannot index unbounded text)
KEY_LENGTH = 255


class ExportError(WorkbenchError):
    """A run cannot be exported (no run folder, no artifacts, a database error)."""


@dataclass(frozen=True)
class ExportTable:
    """One exported table: the artifact it comes from, its key within a run, and its indexed columns."""

    artifact: str
    key: tuple[str, ...]
    required: tuple[str, ...]


#: table name -> what it holds
TABLES: dict[str, ExportTable] = {
    "customer_segments": ExportTable("customer_segments", (contract.CUSTOMER_ID,),
                                     (contract.CUSTOMER_ID, "segment", "cluster", "cluster_name")),
    "recommendations": ExportTable("recommendations", (contract.CUSTOMER_ID, "rank"),
                                   (contract.CUSTOMER_ID, contract.PRODUCT_ID, "rank", "score", "confidence", "explanation")),
    "pricing_suggestions": ExportTable("pricing_suggestions", (contract.PRODUCT_ID,),
                                       (contract.PRODUCT_ID, "current_price", "suggested_price")),
    "item_similarity": ExportTable("item_similarity", (contract.PRODUCT_ID, "similar_product_id"),
                                   (contract.PRODUCT_ID, "similar_product_id", "similarity")),
}
INDEXED = (contract.CUSTOMER_ID, contract.PRODUCT_ID, "similar_product_id")


@dataclass
class ExportResult:
    """What an export wrote: the database URL (password hidden), the run id, rows per table, skipped tables."""

    url: str
    run_id: str
    rows: dict[str, int]
    skipped: dict[str, str]

    def __str__(self) -> str:
        lines = [f"run {self.run_id} exported to {self.url}"]
        lines += [f"  {t}: {n:,} rows" for t, n in self.rows.items()]
        lines += [f"  {t}: skipped ({why})" for t, why in self.skipped.items()]
        return "\n".join(lines)


def default_url(run_dir: str | Path) -> str:
    """The default target: a SQLite file beside the run folder (``outputs/workbench.db``)."""
    return f"sqlite:///{Path(run_dir).resolve().parent / DEFAULT_DB}"


def database_url(to: str | Path | None, run_dir: str | Path) -> str:
    """``to`` as a SQLAlchemy URL: a URL as given, a plain path as a SQLite file, ``None`` as the default."""
    if not to:
        return default_url(run_dir)
    to = str(to)
    if "://" in to:
        return to
    return f"sqlite:///{Path(to).expanduser().resolve()}"


def run_identity(run_dir: Path) -> tuple[str, dict]:
    """The run's id and its ``workbench_runs`` row, from its ``manifest.json`` (else from the folder name)."""
    from workbench.tracking import TRACKING_FILE, workbench_run_id

    man_path = run_dir / "manifest.json"
    man = json.loads(man_path.read_text()) if man_path.exists() else {}
    rid = workbench_run_id(man) if man else run_dir.name
    tracked = run_dir / TRACKING_FILE
    mlflow_id = json.loads(tracked.read_text()).get("run_id") if tracked.exists() else None
    row = {RUN_ID: rid, "params_name": (man.get("params") or {}).get("name"), "run_dir": str(run_dir.resolve()),
           "started": man.get("started"), "ended": man.get("ended"), "git_commit": man.get("git_commit"),
           "data_fingerprint": man.get("data_fingerprint"), "mlflow_run_id": mlflow_id,
           "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    return rid, row


def _sql_type(series: pd.Series, keyed: bool):
    import sqlalchemy as sa

    if pd.api.types.is_bool_dtype(series):
        return sa.Boolean()
    if pd.api.types.is_integer_dtype(series):
        return sa.BigInteger()
    if pd.api.types.is_float_dtype(series):
        return sa.Float(precision=53)
    if pd.api.types.is_datetime64_any_dtype(series):
        return sa.DateTime()
    return sa.String(KEY_LENGTH) if keyed else sa.Text()


def table_schema(name: str, frame: pd.DataFrame, metadata):
    """The SQLAlchemy table of ``frame``: ``run_id`` first, primary key (run_id, key), indexes on the ids."""
    import sqlalchemy as sa

    spec = TABLES[name] if name in TABLES else ExportTable(name, (), ())
    cols = [sa.Column(RUN_ID, sa.String(KEY_LENGTH), primary_key=True)]
    for c in frame.columns:
        keyed = c in spec.key or c in INDEXED
        cols.append(sa.Column(c, _sql_type(frame[c], keyed), primary_key=c in spec.key, nullable=c not in spec.key))
    table = sa.Table(name, metadata, *cols)
    for c in INDEXED:
        if c in frame.columns:
            sa.Index(f"ix_{name}_{c}", table.c[c])
    return table


def _frame(run_dir: Path, spec: ExportTable) -> pd.DataFrame | str:
    """The artifact as the table's rows, or the reason it is skipped."""
    path = run_dir / ARTIFACTS_DIR / f"{spec.artifact}.parquet"
    if not path.exists():
        return f"no {path.name} in the run: the notebook that writes it did not run"
    df = pd.read_parquet(path)
    missing = [c for c in spec.required if c not in df.columns]
    if missing:
        raise ExportError(f"artifact {path} lacks column(s) {missing}; it has {list(df.columns)}")
    dup = df.duplicated(list(spec.key)).sum() if spec.key else 0
    if dup:
        raise ExportError(f"artifact {path}: {dup} rows repeat the key {list(spec.key)} "
                          f"(e.g. {df[df.duplicated(list(spec.key), keep=False)].head(3)[list(spec.key)].to_dict('records')})")
    return df


def _add_missing_columns(conn, table, existing: set[str]) -> None:
    """Columns of a newer artifact that an existing table lacks are added (nullable)."""
    from sqlalchemy import text

    for col in table.columns:
        if col.name not in existing:
            kind = col.type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {conn.dialect.identifier_preparer.quote(table.name)} ADD COLUMN "
                              f"{conn.dialect.identifier_preparer.quote(col.name)} {kind}"))


def export_run(run_dir: str | Path, to: str | Path | None = None, tables: list[str] | None = None) -> ExportResult:
    """Write the run's tables into the database ``to`` (see the module doc) and return what was written.

    Examples:
        A run folder with one artifact, exported into a SQLite file; every row carries the run's id (here the
        folder's name: the folder has no ``manifest.json``):

        >>> import sqlite3, tempfile
        >>> from pathlib import Path
        >>> import pandas as pd
        >>> run = Path(tempfile.mkdtemp()) / "myrun"
        >>> (run / "artifacts").mkdir(parents=True)
        >>> pd.DataFrame({"product_id": ["p1", "p2"], "similar_product_id": ["p2", "p1"],
        ...               "similarity": [0.9, 0.9]}).to_parquet(run / "artifacts" / "item_similarity.parquet")
        >>> export_run(run, to=run.parent / "shop.db", tables=["item_similarity"]).rows
        {'item_similarity': 2}
        >>> sqlite3.connect(run.parent / "shop.db").execute(
        ...     "SELECT run_id, product_id, similar_product_id FROM item_similarity").fetchall()
        [('myrun', 'p1', 'p2'), ('myrun', 'p2', 'p1')]
    """
    import sqlalchemy as sa

    run_dir = Path(run_dir)
    if not (run_dir / ARTIFACTS_DIR).is_dir():
        raise ExportError(f"'{run_dir}' is not a run folder (no {ARTIFACTS_DIR}/): give the folder a "
                          f"`workbench run` wrote, e.g. outputs/default")
    unknown = set(tables or ()) - set(TABLES)
    if unknown:
        raise ExportError(f"unknown table(s) {sorted(unknown)}; choose from {list(TABLES)}")
    url = database_url(to, run_dir)
    rid, run_row = run_identity(run_dir)
    frames, skipped = {}, {}
    for name in tables or TABLES:
        got = _frame(run_dir, TABLES[name])
        if isinstance(got, str):
            skipped[name] = got
        else:
            frames[name] = got
    if not frames:
        raise ExportError(f"nothing to export from {run_dir}: " + "; ".join(f"{t}: {w}" for t, w in skipped.items()))
    engine = sa.create_engine(url)
    rows = {}
    try:
        with engine.begin() as conn:  # one transaction: the run's rows are replaced or nothing changes
            meta = sa.MetaData()
            runs = table_schema(RUNS_TABLE, pd.DataFrame({k: pd.Series(dtype="str") for k in run_row if k != RUN_ID}),
                                meta)
            schemas = {n: table_schema(n, f, meta) for n, f in frames.items()}
            meta.create_all(conn, checkfirst=True)
            inspector = sa.inspect(conn)
            for name, table in [(RUNS_TABLE, runs), *schemas.items()]:
                _add_missing_columns(conn, table, {c["name"] for c in inspector.get_columns(name)})
                conn.execute(table.delete().where(table.c[RUN_ID] == rid))
            conn.execute(runs.insert(), [run_row])
            for name, frame in frames.items():
                out = frame.copy()
                out.insert(0, RUN_ID, rid)
                out.to_sql(name, conn, if_exists="append", index=False, chunksize=10_000)
                rows[name] = len(out)
    except sa.exc.SQLAlchemyError as exc:
        raise ExportError(f"export of {run_dir} to {engine.url.render_as_string(hide_password=True)} failed: "
                          f"{type(exc).__name__}: {exc}") from exc
    finally:
        engine.dispose()
    result = ExportResult(engine.url.render_as_string(hide_password=True), rid, rows, skipped)
    log.debug("%s", result)
    return result

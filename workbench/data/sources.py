"""Readers for the ``data.source`` kinds: synthetic, csv, parquet, sql, and the real-data adapters."""
from __future__ import annotations

import importlib
import logging
from pathlib import Path

import pandas as pd

from workbench.config import datasets_dir, project_root
from workbench.data import contract as data_contract
from workbench.data.shop import Shop
from workbench.errors import ConfigError, DataSourceError

log = logging.getLogger(__name__)

#: adapter name -> module under workbench.data.adapters exposing ``load(path=None, **options) -> Shop``
ADAPTERS = {
    "online_retail": "online_retail",
    "movielens100k": "movielens",
    "cdnow": "cdnow",
    "groceries": "groceries",
    "retail_price": "retail_price",
    "retailrocket": "retailrocket",
}
SOURCES = ("synthetic", "csv", "parquet", "sql", *ADAPTERS)
#: keys of a ``data`` block read by the loader itself, never passed to an adapter
LOAD_KEYS = ("source", "strict", "path", "validation", "drop")


def _resolve(path: str | Path) -> Path:
    p = Path(path).expanduser()
    if not p.is_absolute() and not p.exists():
        p = project_root() / p
    return p


def read_folder(path: str | Path, fmt: str = "csv", encoding: str | None = None) -> Shop:
    """Read ``customers``, ``products``, ``transactions`` (and ``events``, ``ratings``, ``prices`` when
    present) from ``<path>/<table>.csv`` or ``.parquet``. CSV dates are ISO text, parsed in validation.

    ``transactions`` may be missing when ``events`` or ``ratings`` are there (a shop without money).
    CSV files are UTF-8 unless a byte-order mark or ``encoding`` says otherwise."""
    folder = _resolve(path)
    if not folder.is_dir():
        raise DataSourceError(f"{fmt} source: folder '{folder}' does not exist")
    tables = {}
    for name in data_contract.ALL_TABLES:
        f = folder / f"{name}.{fmt}"
        if not f.exists():
            continue
        try:
            if fmt == "csv":
                tables[name] = _read_csv(f, encoding)
            else:
                tables[name] = pd.read_parquet(f)
        except DataSourceError:
            raise
        except Exception as exc:  # a broken file: say which
            raise DataSourceError(f"{fmt} source: cannot read '{f}': {exc}") from exc
    needed = [n for n in data_contract.REQUIRED_TABLES if n != data_contract.TRANSACTIONS and n not in tables]
    if not any(n in tables for n in data_contract.FEEDBACK_TABLES):
        needed.append(data_contract.TRANSACTIONS)
    if needed:
        raise DataSourceError(f"{fmt} source: {', '.join(n + '.' + fmt for n in needed)} missing in '{folder}'; a "
                              f"shop needs customers.{fmt}, products.{fmt} and transactions.{fmt} (or, without "
                              f"money, events.{fmt} or ratings.{fmt} instead of transactions.{fmt})")
    return Shop(**{"transactions": None, **tables}, name=folder.name)


#: byte-order marks that name their encoding
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def _read_csv(f: Path, encoding: str | None) -> pd.DataFrame:
    """Read one contract CSV (ids as text). A byte-order mark picks the encoding when none is given; a file
    that does not decode stops with the file, the byte and how to name its encoding."""
    if encoding is None:
        head = f.open("rb").read(4)
        encoding = next((enc for bom, enc in _BOMS if head.startswith(bom)), "utf-8")
    ids = {c: "str" for c in (data_contract.CUSTOMER_ID, data_contract.PRODUCT_ID, data_contract.TRANSACTION_ID)}
    try:
        return pd.read_csv(f, dtype=ids, keep_default_na=True, encoding=encoding)
    except UnicodeDecodeError as exc:  # pandas decodes in chunks: find the first bad byte in the whole file
        raw = f.read_bytes()
        try:
            raw.decode(encoding)
            pos = exc.start
        except UnicodeDecodeError as whole:
            pos = whole.start
        line = raw.count(b"\n", 0, pos) + 1
        raise DataSourceError(f"csv source: '{f}' is not {encoding} text (line {line}, byte {pos}: "
                              f"{raw[pos:pos + 4]!r}); set data.encoding to the file's encoding, e.g. latin-1 "
                              f"or cp1252") from exc


def read_sql(url: str | None = None, path: str | None = None, tables: dict | None = None,
             queries: dict | None = None) -> Shop:
    """Read the contract tables through SQLAlchemy (read-only): by table name or by query.

    ``url`` is any SQLAlchemy URL (``postgresql://...``, ``mysql+pymysql://...``); ``path`` is a SQLite
    file, the embedded default, opened read-only. ``tables`` maps contract names to table names,
    ``queries`` maps them to SELECT statements.
    """
    from sqlalchemy import create_engine, inspect, text

    if url is None:
        if path is None:
            raise ConfigError("sql source needs 'url' (SQLAlchemy URL) or 'path' (SQLite file)")
        db = _resolve(path)
        if not db.exists():
            raise DataSourceError(f"sql source: SQLite file '{db}' does not exist")
        url = f"sqlite:///file:{db}?mode=ro&uri=true"
    engine = create_engine(url)
    names = {n: n for n in data_contract.ALL_TABLES}
    names.update(tables or {})
    queries = queries or {}
    out = {}
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            for name in data_contract.ALL_TABLES:
                if name in queries:
                    out[name] = pd.read_sql(text(queries[name]), conn)
                elif names[name] in present:
                    out[name] = pd.read_sql_table(names[name], conn)
                elif name in data_contract.REQUIRED_TABLES and name != data_contract.TRANSACTIONS:
                    raise DataSourceError(f"sql source: table '{names[name]}' not found (have {sorted(present)})")
    finally:
        engine.dispose()
    if not any(n in out for n in data_contract.FEEDBACK_TABLES):
        raise DataSourceError(f"sql source: table '{names[data_contract.TRANSACTIONS]}' not found (have {sorted(present)}); a "
                              f"shop needs transactions, or events or ratings instead")
    for name in (data_contract.CUSTOMER_ID, data_contract.PRODUCT_ID, data_contract.TRANSACTION_ID):
        for df in out.values():
            if name in df and not pd.api.types.is_string_dtype(df[name]):
                df[name] = df[name].astype("str")
    return Shop(**{"transactions": None, **out}, name="sql")


def load_source(data: dict, seed: int | None = None) -> Shop:
    """Return the raw (not yet validated) shop described by a params ``data`` block."""
    source = data.get("source", "synthetic")
    if source == "synthetic":
        from workbench.data.synthetic import generate_shop

        cfg = dict(data.get("synthetic") or {})
        if seed is not None:
            cfg.setdefault("seed", seed)
        return generate_shop(cfg)
    if source in ("csv", "parquet"):
        if "path" not in data:
            raise ConfigError(f"data.source={source} needs data.path, a folder with customers.{source} ...")
        return read_folder(data["path"], source, data.get("encoding"))
    if source == "sql":
        return read_sql(data.get("url"), data.get("path"), data.get("tables"), data.get("queries"))
    if source in ADAPTERS:
        mod = importlib.import_module(f"workbench.data.adapters.{ADAPTERS[source]}")
        options = {k: v for k, v in data.items() if k not in LOAD_KEYS}
        path = data.get("path")
        return mod.load(path=_resolve(path) if path else None, **options)
    raise ConfigError(f"data.source '{source}' is unknown; choose one of {', '.join(SOURCES)}")


def find_dataset(folder: str, path: str | Path | None = None) -> Path:
    """Where a real data set lives: ``path`` if given, else ``$WORKBENCH_DATA/<folder>``, else
    ``../shared/datasets/<folder>``. Raises a clear error when it is not there."""
    p = Path(path) if path else datasets_dir() / folder
    if not p.exists():
        raise DataSourceError(f"data set '{folder}' not found at '{p}'; pass data.path, or set "
                              f"WORKBENCH_DATA to the folder holding '{folder}/'")
    return p

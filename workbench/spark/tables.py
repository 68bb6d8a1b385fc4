"""The contract's tables as Spark DataFrames: ``StructType`` schemas from :mod:`workbench.data.contract`, readers
for Parquet and CSV folders (``<folder>/<table>.parquet`` or ``.csv``, the layout of the csv/parquet sources)."""
from __future__ import annotations

import logging
from pathlib import Path

from workbench.data import contract as data_contract
from workbench.errors import DataSourceError

log = logging.getLogger(__name__)

FORMATS = ("parquet", "csv")


def spark_type(kind: str):
    """The Spark SQL type of a contract column kind (``id``, ``datetime``, ``int`` ...)."""
    from pyspark.sql import types as sql_types

    return {
        "id": sql_types.StringType(), "text": sql_types.StringType(), "category": sql_types.StringType(),
        "datetime": sql_types.TimestampNTZType(), "date": sql_types.TimestampNTZType(),  # naive, as the pandas tables
        "int": sql_types.LongType(), "float": sql_types.DoubleType(),
    }[kind]


def struct_type(table: str, columns: list[str] | None = None):
    """The ``StructType`` of a contract table (all its columns, or those of ``columns`` that it defines)."""
    from pyspark.sql import types as sql_types

    schema = data_contract.SCHEMAS[table]
    cols = [c for c in schema.columns if columns is None or c.name in columns]
    return sql_types.StructType([sql_types.StructField(c.name, spark_type(c.kind), nullable=not c.required) for c in cols])


def table_path(folder: str | Path, table: str, fmt: str) -> str:
    """``<folder>/<table>.<fmt>`` (a file or a Spark output directory); URLs (s3://, dbfs:/) pass through."""
    return f"{str(folder).rstrip('/')}/{table}.{fmt}"


def _exists(spark, path: str) -> bool:
    """Whether ``path`` exists on the session's file system (local, HDFS, S3 ... through Hadoop)."""
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return bool(hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(hpath))


def read_table(spark, path: str, fmt: str = "parquet"):
    """Return one raw table as a DataFrame: Parquet with its own types, CSV as text columns (the validation
    parses them, so an unparseable value is quarantined with its reason instead of becoming null)."""
    if fmt not in FORMATS:
        raise DataSourceError(f"the Spark engine reads {' or '.join(FORMATS)}, not {fmt!r}")
    if fmt == "csv":
        return spark.read.option("header", True).option("inferSchema", False).option("mode", "PERMISSIVE").csv(path)
    return spark.read.parquet(path)


def read_tables(spark, folder: str | Path, fmt: str = "parquet") -> dict:
    """Return ``{table: DataFrame}`` of the contract tables found in ``folder`` (the required ones must be there)."""
    out = {}
    for name in data_contract.ALL_TABLES:
        path = table_path(folder, name, fmt)
        if not _exists(spark, path):
            if name in data_contract.REQUIRED_TABLES:
                raise DataSourceError(f"{fmt} source: '{path}' is missing; a shop needs "
                                      f"{', '.join(t + '.' + fmt for t in data_contract.REQUIRED_TABLES)}")
            continue
        out[name] = read_table(spark, path, fmt)
    log.info("spark: read %s from %s", ", ".join(out), folder)
    return out

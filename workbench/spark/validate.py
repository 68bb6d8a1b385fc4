"""The contract's validation rules in Spark SQL: the same rules, in the same order, as
:mod:`workbench.data.validate`, so a row gets the same first reason on both engines.

Per table: a fatal problem (no rows, a missing required column, one id naming two records) raises
:class:`~workbench.errors.DataValidationError`; every other broken row goes to quarantine with its reason
(``missing_value:<col>``, ``unparseable_date:<col>``, ``future_date:<col>``, ``not_numeric:<col>``,
``not_integer:<col>``, ``non_positive:<col>``, ``zero:<col>``, ``invalid_value:<col>``, ``duplicate_line``
/ ``duplicate_row``, ``orphan:<col>``). The report is the pandas engine's :class:`ValidationReport`, with
``rows_accepted + rows_quarantined == rows_read`` for every table; the quarantined rows stay a DataFrame
(``_row``: a read-order id, ``_reason``, the raw columns). Accepted tables keep ``_row`` too.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from workbench.data import contract as data_contract
from workbench.data.validate import TableReport, ValidationReport
from workbench.errors import DataValidationError
from workbench.spark.tables import spark_type

log = logging.getLogger(__name__)

ROW, REASON = "_row", "_reason"


@dataclass
class SparkValidation:
    """Accepted tables, quarantined rows (DataFrames) and the counts report of one validation."""

    accepted: dict = field(default_factory=dict)
    quarantine: dict = field(default_factory=dict)
    report: ValidationReport = field(default_factory=ValidationReport)


def _is_numeric(dtype) -> bool:
    from pyspark.sql import types as sql_types

    return isinstance(dtype, (sql_types.FloatType, sql_types.DoubleType))


def _lit_str(value: str) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _column_rules(col: data_contract.Column, raw_type, now: pd.Timestamp) -> tuple[list[tuple[str, str]], str]:
    """Return ([(SQL condition, reason) in the pandas engine's order], SQL of the coerced value) for one column."""
    from pyspark.sql import types as sql_types

    q = f"`{col.name}`"
    missing = f"({q} IS NULL" + (f" OR isnan({q}))" if _is_numeric(raw_type) else ")")
    rules = [(missing, f"missing_value:{col.name}")] if col.required else []
    if col.kind == "id":
        # text ids are kept as they are; other types become text, stripped (the pandas engine's coercion)
        value = q if isinstance(raw_type, sql_types.StringType) else f"trim(CAST({q} AS STRING))"
        if col.required:
            rules.append((f"{value} = ''", f"missing_value:{col.name}"))
    elif col.kind in ("datetime", "date"):
        if isinstance(raw_type, sql_types.TimestampNTZType):
            value = q
        elif isinstance(raw_type, (sql_types.TimestampType, sql_types.DateType)):
            value = f"CAST({q} AS TIMESTAMP_NTZ)"  # the session is in UTC: aware times become naive UTC
        else:
            value = f"try_cast(CAST({q} AS STRING) AS TIMESTAMP_NTZ)"
        rules.append((f"{value} IS NULL AND NOT {missing}", f"unparseable_date:{col.name}"))
        rules.append((f"{value} > TIMESTAMP_NTZ'{pd.Timestamp(now).isoformat(sep=' ')}'", f"future_date:{col.name}"))
    elif col.kind in ("int", "float"):
        num = f"try_cast({q} AS DOUBLE)" if not isinstance(raw_type, sql_types.NumericType) else f"CAST({q} AS DOUBLE)"
        rules.append((f"{num} IS NULL AND NOT {missing}", f"not_numeric:{col.name}"))
        if col.kind == "int":
            rules.append((f"coalesce({num}, 0D) % 1 != 0", f"not_integer:{col.name}"))
            value = f"CAST(round({num}) AS BIGINT)"
        else:
            value = num
        if col.positive:
            rules.append((f"NOT ({num} > 0) AND NOT isnan({num})", f"non_positive:{col.name}"))
        if col.nonzero:
            rules.append((f"{num} = 0", f"zero:{col.name}"))
    elif col.kind == "category" and col.choices is not None:
        choices = ", ".join(_lit_str(c) for c in col.choices)
        value = f"CASE WHEN CAST({q} AS STRING) IN ({choices}) THEN CAST({q} AS STRING) END"
        rules.append((f"CAST({q} AS STRING) NOT IN ({choices}) AND NOT {missing}", f"invalid_value:{col.name}"))
    else:
        value = f"CAST({q} AS STRING)"
    return rules, value


def _examples(df, column: str | None, n: int = 3) -> list[str]:
    rows = df.orderBy(ROW).limit(n).collect()
    return [f"row {r[ROW]}: {r[column]!r}" if column else f"row {r[ROW]}" for r in rows]


def validate_table(name: str, raw, now: pd.Timestamp, accepted: dict):
    """Return ``(accepted, quarantined, TableReport)`` of one raw table; ``accepted`` holds the parent tables."""
    from pyspark.sql import Window
    from pyspark.sql import functions

    schema = data_contract.SCHEMAS[name]
    types = {f.name: f.dataType for f in raw.schema.fields}
    missing_cols = [c for c in schema.required if c not in types]
    if missing_cols:
        raise DataValidationError(name, missing_cols[0], "required_column", raw.count(),
                                  examples=[f"columns present: {list(types)[:12]}"],
                                  hint=f"add the column(s) {missing_cols} or map them in the adapter")
    df = raw.withColumn(ROW, functions.monotonically_increasing_id())
    rules, coerced = [], {}
    for col in schema.columns:
        if col.name in types:
            r, value = _column_rules(col, types[col.name], now)
            rules += r
            coerced[col.name] = value
    case = "CASE " + " ".join(f"WHEN {cond} THEN {_lit_str(reason)}" for cond, reason in rules) + " END"
    cols = [c for c in raw.columns]
    out_cols = [functions.expr(f"{coerced[c]}").cast(spark_type(schema.column(c).kind)).alias(c) if c in coerced
                else functions.col(f"`{c}`") for c in cols]
    checked = df.select(functions.col(ROW), functions.expr(case).alias(REASON), *out_cols, *[functions.col(f"`{c}`").alias(f"_raw_{i}")
                                                                           for i, c in enumerate(cols)])
    # exact duplicates among the rows still valid (on the coerced values), the first in read order kept
    dup_reason = "duplicate_line" if name == data_contract.TRANSACTIONS else "duplicate_row"
    first = Window.partitionBy(*[functions.col(f"`{c}`") for c in cols]).orderBy(ROW)
    ok = checked.where(functions.col(REASON).isNull())
    ok = ok.withColumn(REASON, functions.when(functions.row_number().over(first) > 1, functions.lit(dup_reason)))
    checked = checked.where(functions.col(REASON).isNotNull()).unionByName(ok)
    if schema.unique:
        key = [functions.col(c) for c in schema.unique]
        clash = (checked.where(functions.col(REASON).isNull()).groupBy(*key).agg(functions.count("*").alias("_n"), functions.min(ROW).alias(ROW))
                 .where("_n > 1"))
        n_clash = clash.agg(functions.sum("_n")).first()[0]
        if n_clash:
            raise DataValidationError(name, ",".join(schema.unique), "unique", int(n_clash),
                                      examples=_examples(clash, schema.unique[0]),
                                      hint="the same id names different records; fix the source or de-duplicate it first")
    for col, parent in schema.foreign_keys.items():
        if parent not in accepted or col not in types:
            continue
        known = accepted[parent].select(functions.col(col).alias("_known")).distinct()
        checked = (checked.join(functions.broadcast(known) if parent == data_contract.PRODUCTS else known,
                                functions.col(col) == functions.col("_known"), "left")
                   .withColumn(REASON, functions.when(functions.col(REASON).isNull() & functions.col("_known").isNull(), functions.lit(f"orphan:{col}"))
                               .otherwise(functions.col(REASON)))
                   .drop("_known"))
    checked = checked.persist()
    counts = {r[REASON]: int(r["count"]) for r in checked.groupBy(REASON).count().collect()}
    read = sum(counts.values())
    bad = {k: v for k, v in counts.items() if k is not None}
    if read == 0:
        raise DataValidationError(name, None, "non_empty", 0, hint="the table has no rows; check the source")
    # accepted rows keep their read-order id: sums that must equal the pandas engine's add in that order
    good = checked.where(functions.col(REASON).isNull()).select(ROW, *[functions.col(f"`{c}`") for c in cols])
    quarantined = checked.where(functions.col(REASON).isNotNull()).select(
        ROW, REASON, *[functions.col(f"_raw_{i}").alias(c) for i, c in enumerate(cols)])
    rep = TableReport(name, read, counts.get(None, 0), sum(bad.values()), dict(sorted(bad.items())))
    assert rep.rows_accepted + rep.rows_quarantined == rep.rows_read
    return good, quarantined, rep


def validate_tables(tables: dict, strict: bool = False, now: pd.Timestamp | None = None) -> SparkValidation:
    """Validate raw Spark tables (``{name: DataFrame}``) against the contract; parents before their children.

    Raises :class:`DataValidationError` on fatal problems, and on any quarantined row if ``strict``.
    """
    from pyspark.sql import functions

    now = pd.Timestamp.now() if now is None else pd.Timestamp(now)
    res = SparkValidation()
    for name in data_contract.ALL_TABLES:
        if name not in tables:
            continue
        good, q, rep = validate_table(name, tables[name], now, res.accepted)
        if name in data_contract.REQUIRED_TABLES and rep.rows_accepted == 0:
            raise DataValidationError(name, None, "non_empty_after_validation", rep.rows_read,
                                      examples=[f"{k}: {v}" for k, v in rep.reasons.items()],
                                      hint="every row was quarantined")
        res.accepted[name], res.report.tables[name] = good, rep
        if rep.rows_quarantined:
            res.quarantine[name] = q
            log.warning("%s: %d of %d rows quarantined (%s)", name, rep.rows_quarantined, rep.rows_read,
                        ", ".join(f"{k}={v}" for k, v in rep.reasons.items()))
            if strict:
                reason = next(iter(rep.reasons))
                col = reason.split(":", 1)[1] if ":" in reason else None
                raise DataValidationError(name, col, reason.split(":")[0], rep.reasons[reason],
                                          examples=_examples(q.where(functions.col(REASON) == reason), None),
                                          hint="strict mode: set strict: false to quarantine these rows instead")
    return res


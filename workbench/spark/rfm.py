"""RFM, scores and segments in Spark SQL with exactly :mod:`workbench.segment.rfm`'s conventions.

* lines before the analysis date (default: the day after the last line); recency = whole days from the last
  purchase line (quantity > 0); frequency = distinct invoices with a purchase line; monetary = net revenue
  of all lines, summed in read order (the order ``np.bincount`` adds them in, so the sums are equal to the
  bit, not only close);
* customers without a purchase keep a row with frequency 0 and the segment ``no_purchase``;
* 1-5 scores by quintiles among the buyers: the bin edges are ``pd.qcut``'s own, computed on the driver from
  the distinct values and their counts (a few hundred recency values; one row per distinct monetary value),
  then every customer is binned in Spark as ``pd.cut`` does (right-closed, lowest edge included).
  Frequency is cut on its rank with ties in customer-id order; a metric whose value quintiles repeat an
  edge falls back to the rank, as in pandas;
* segments from the R and F scores through the same checked segment map; IQR outlier flags with the same
  linear-interpolation quartiles.

The result has the pandas table's columns and dtypes after ``toPandas`` (see :func:`to_pandas_rfm`).
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.segment import rfm as segment_rfm
from workbench.spark.validate import ROW

log = logging.getLogger(__name__)

_DAY_US = 86_400_000_000


def analysis_date(transactions) -> pd.Timestamp:
    """The day after the last transaction (midnight), as :func:`workbench.segment.rfm.default_analysis_date`."""
    from pyspark.sql import functions

    last = transactions.agg(functions.max(contract.TIMESTAMP)).first()[0]
    return pd.Timestamp(last).normalize() + pd.Timedelta(days=1)


def rfm_table(transactions, customers=None, date: pd.Timestamp | None = None):
    """Return ``(table, analysis_date)``: one row per customer with recency, frequency, monetary, first/last purchase."""
    from pyspark.sql import functions

    date = analysis_date(transactions) if date is None else pd.Timestamp(date)
    d = functions.lit(date.to_pydatetime()).cast("timestamp_ntz")
    tx = transactions.where(functions.col(contract.TIMESTAMP) < d)
    buy = functions.col(contract.QUANTITY) > 0
    if ROW not in transactions.columns:
        raise ValueError(f"transactions need the read-order column {ROW!r} (validate_tables keeps it)")
    order = functions.col(ROW)
    line = functions.struct(order.alias("o"), (functions.col(contract.QUANTITY).cast("double") * functions.col(contract.UNIT_PRICE)).alias("v"))
    agg = tx.groupBy(contract.CUSTOMER_ID).agg(
        # revenue added line by line in read order, from 0.0 (np.bincount's order: equal sums, bit for bit)
        functions.aggregate(functions.array_sort(functions.collect_list(line)), functions.lit(0.0), lambda acc, x: acc + x["v"]).alias(segment_rfm.MONETARY),
        functions.count_distinct(functions.when(buy, functions.col(contract.TRANSACTION_ID))).alias(segment_rfm.FREQUENCY),
        functions.min(functions.when(buy, functions.col(contract.TIMESTAMP))).alias(segment_rfm.FIRST_PURCHASE),
        functions.max(functions.when(buy, functions.col(contract.TIMESTAMP))).alias(segment_rfm.LAST_PURCHASE),
    )
    if customers is not None:
        ids = customers.select(contract.CUSTOMER_ID).unionByName(tx.select(contract.CUSTOMER_ID)).distinct()
        agg = ids.join(agg, contract.CUSTOMER_ID, "left")
    table = agg.select(
        contract.CUSTOMER_ID,
        functions.coalesce(functions.col(segment_rfm.FREQUENCY), functions.lit(0)).cast("long").alias(segment_rfm.FREQUENCY),
        functions.coalesce(functions.col(segment_rfm.MONETARY), functions.lit(0.0)).alias(segment_rfm.MONETARY),
        segment_rfm.FIRST_PURCHASE, segment_rfm.LAST_PURCHASE,
        # whole days, floored as Timedelta.days: integer microseconds, integer division
        functions.expr(f"(unix_micros(CAST(TIMESTAMP_NTZ'{date.isoformat(sep=' ')}' AS TIMESTAMP)) - "
               f"unix_micros(CAST(`{segment_rfm.LAST_PURCHASE}` AS TIMESTAMP))) div {_DAY_US}").alias(segment_rfm.RECENCY),
    )
    return table.select(contract.CUSTOMER_ID, segment_rfm.RECENCY, segment_rfm.FREQUENCY, segment_rfm.MONETARY, segment_rfm.FIRST_PURCHASE, segment_rfm.LAST_PURCHASE), date


def _value_counts(df, column: str) -> pd.DataFrame:
    """The distinct values of ``column`` and their counts, sorted by value (collected to the driver)."""
    from pyspark.sql import functions

    vc = df.groupBy(column).agg(functions.count("*").alias("n")).toPandas()
    return vc.sort_values(column, kind="stable").reset_index(drop=True)


def _repeat(vc: pd.DataFrame, column: str) -> pd.Series:
    """Every value as often as it occurs (sorted): what ``pd.qcut`` would see, rebuilt from the counts."""
    return pd.Series(np.repeat(vc[column].to_numpy(dtype="float64"), vc["n"].to_numpy()), name=column)


def _cut(x, edges: np.ndarray, reverse: bool):
    """The score column: ``pd.cut(x, edges, right=True, include_lowest=True)`` as a SQL expression."""
    from pyspark.sql import functions

    idx = sum((functions.lit(float(e)) < x).cast("int") for e in edges[:-1])  # searchsorted(edges, x, side="left")
    idx = functions.greatest(idx, functions.lit(1))  # include_lowest: the smallest edge belongs to the first bin
    n = len(edges) - 1
    return (functions.lit(n + 1) - idx) if reverse else idx


def _rank_first(df, column: str, vc: pd.DataFrame):
    """``column``'s rank with ``method="first"`` (ties in customer-id order), as a column of ``df`` named ``_rank``:
    the buyers before the value (from the collected counts) plus the position inside the value's ties."""
    from pyspark.sql import Window
    from pyspark.sql import functions

    offsets = vc.assign(_offset=np.r_[0, np.cumsum(vc["n"].to_numpy())[:-1]].astype("int64"))[[column, "_offset"]]
    spark = df.sparkSession
    off = spark.createDataFrame(offsets.rename(columns={column: "_v"}))
    w = Window.partitionBy(column).orderBy(contract.CUSTOMER_ID)
    return (df.join(functions.broadcast(off) if len(offsets) < 100_000 else off,
                    functions.col(column).cast("double") == functions.col("_v").cast("double"), "left")
            .withColumn("_rank", (functions.col("_offset") + functions.row_number().over(w)).cast("double"))
            .drop("_v", "_offset"))


def _score(df, column: str, score: str, reverse: bool = False, rank_first: bool = False):
    """Add ``score`` (1-5) to the buyers ``df`` as :func:`workbench.segment.rfm.quantile_scores` does."""
    from pyspark.sql import functions

    vc = _value_counts(df, column)
    n = int(vc["n"].sum())
    if n < segment_rfm.N_BINS:
        raise ValueError(f"need at least {segment_rfm.N_BINS} customers with purchases to score RFM, got {n}")
    if not rank_first:
        try:
            _, edges = pd.qcut(_repeat(vc, column), segment_rfm.N_BINS, labels=False, retbins=True)
            return df.withColumn(score, _cut(functions.col(column).cast("double"), edges, reverse)), vc
        except ValueError:
            log.warning("rfm: %s has too many ties for %d value quantiles; scoring its rank instead", column, segment_rfm.N_BINS)
    _, edges = pd.qcut(pd.Series(np.arange(1, n + 1, dtype="float64")), segment_rfm.N_BINS, labels=False, retbins=True)
    ranked = _rank_first(df, column, vc)
    return ranked.withColumn(score, _cut(functions.col("_rank"), edges, reverse)).drop("_rank"), vc


def _iqr_flag(column: str, vc: pd.DataFrame, k: float):
    from pyspark.sql import functions

    q1, q3 = _repeat(vc, column).quantile([0.25, 0.75]).to_numpy()
    lo, hi = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
    x = functions.col(column).cast("double")
    return functions.coalesce((x < functions.lit(float(lo))) | (x > functions.lit(float(hi))), functions.lit(False))


def build_rfm(transactions, customers=None, date: pd.Timestamp | None = None,
              segment_map: dict[str, str] | None = None, iqr_k: float = 1.5):
    """Return ``(table, analysis_date)``: the Spark counterpart of :func:`workbench.segment.rfm.build_rfm`."""
    from pyspark.sql import functions

    seg_map = segment_map or segment_rfm.DEFAULT_SEGMENT_MAP
    cell_map = segment_rfm.check_segment_map(seg_map)  # fail before the work
    table, date = rfm_table(transactions, customers, date)
    table = table.persist()
    buyers = table.where(functions.col(segment_rfm.FREQUENCY) > 0)
    buyers, vc_r = _score(buyers, segment_rfm.RECENCY, segment_rfm.R_SCORE, reverse=True)
    buyers, vc_f = _score(buyers, segment_rfm.FREQUENCY, segment_rfm.F_SCORE, rank_first=True)
    buyers, vc_m = _score(buyers, segment_rfm.MONETARY, segment_rfm.M_SCORE)
    scores = buyers.select(contract.CUSTOMER_ID, segment_rfm.R_SCORE, segment_rfm.F_SCORE, segment_rfm.M_SCORE,
                           *[_iqr_flag(m, vc, iqr_k).alias(f"{m}_outlier")
                             for m, vc in ((segment_rfm.RECENCY, vc_r), (segment_rfm.FREQUENCY, vc_f), (segment_rfm.MONETARY, vc_m))])
    out = table.join(scores, contract.CUSTOMER_ID, "left")
    rf = functions.col(segment_rfm.R_SCORE) * 10 + functions.col(segment_rfm.F_SCORE)
    seg = functions.lit(segment_rfm.NO_PURCHASE)
    for cell, name in sorted(cell_map.items(), reverse=True):
        seg = functions.when(rf == int(cell), functions.lit(name)).otherwise(seg)
    out = out.select(
        contract.CUSTOMER_ID, segment_rfm.RECENCY, segment_rfm.FREQUENCY, segment_rfm.MONETARY, segment_rfm.FIRST_PURCHASE, segment_rfm.LAST_PURCHASE,
        segment_rfm.R_SCORE, segment_rfm.F_SCORE, segment_rfm.M_SCORE,
        functions.concat(functions.col(segment_rfm.R_SCORE).cast("string"), functions.col(segment_rfm.F_SCORE).cast("string"),
                 functions.col(segment_rfm.M_SCORE).cast("string")).alias(segment_rfm.RFM_SCORE),
        seg.alias(segment_rfm.SEGMENT),
        *[functions.coalesce(functions.col(f"{m}_outlier"), functions.lit(False)).alias(f"{m}_outlier") for m in segment_rfm.METRICS],
    )
    return out, date


def to_pandas_rfm(table) -> pd.DataFrame:
    """The Spark RFM table as the pandas engine's frame (sorted by id; nullable integer scores; str ids)."""
    df = table.toPandas().sort_values(contract.CUSTOMER_ID, kind="stable").reset_index(drop=True)
    for col in (segment_rfm.RECENCY, segment_rfm.R_SCORE, segment_rfm.F_SCORE, segment_rfm.M_SCORE):
        df[col] = df[col].astype("Int64")
    for col in (contract.CUSTOMER_ID, segment_rfm.RFM_SCORE, segment_rfm.SEGMENT):
        df[col] = df[col].astype("str")
    return df

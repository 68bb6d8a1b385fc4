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

from workbench.data import contract as C
from workbench.segment import rfm as R
from workbench.spark.validate import ROW

log = logging.getLogger(__name__)

_DAY_US = 86_400_000_000


def analysis_date(transactions) -> pd.Timestamp:
    """The day after the last transaction (midnight), as :func:`workbench.segment.rfm.default_analysis_date`."""
    from pyspark.sql import functions as F

    last = transactions.agg(F.max(C.TIMESTAMP)).first()[0]
    return pd.Timestamp(last).normalize() + pd.Timedelta(days=1)


def rfm_table(transactions, customers=None, date: pd.Timestamp | None = None):
    """Return ``(table, analysis_date)``: one row per customer with recency, frequency, monetary, first/last purchase."""
    from pyspark.sql import functions as F

    date = analysis_date(transactions) if date is None else pd.Timestamp(date)
    d = F.lit(date.to_pydatetime()).cast("timestamp_ntz")
    tx = transactions.where(F.col(C.TIMESTAMP) < d)
    buy = F.col(C.QUANTITY) > 0
    if ROW not in transactions.columns:
        raise ValueError(f"transactions need the read-order column {ROW!r} (validate_tables keeps it)")
    order = F.col(ROW)
    line = F.struct(order.alias("o"), (F.col(C.QUANTITY).cast("double") * F.col(C.UNIT_PRICE)).alias("v"))
    agg = tx.groupBy(C.CUSTOMER_ID).agg(
        # revenue added line by line in read order, from 0.0 (np.bincount's order: equal sums, bit for bit)
        F.aggregate(F.array_sort(F.collect_list(line)), F.lit(0.0), lambda acc, x: acc + x["v"]).alias(R.MONETARY),
        F.count_distinct(F.when(buy, F.col(C.TRANSACTION_ID))).alias(R.FREQUENCY),
        F.min(F.when(buy, F.col(C.TIMESTAMP))).alias(R.FIRST_PURCHASE),
        F.max(F.when(buy, F.col(C.TIMESTAMP))).alias(R.LAST_PURCHASE),
    )
    if customers is not None:
        ids = customers.select(C.CUSTOMER_ID).unionByName(tx.select(C.CUSTOMER_ID)).distinct()
        agg = ids.join(agg, C.CUSTOMER_ID, "left")
    table = agg.select(
        C.CUSTOMER_ID,
        F.coalesce(F.col(R.FREQUENCY), F.lit(0)).cast("long").alias(R.FREQUENCY),
        F.coalesce(F.col(R.MONETARY), F.lit(0.0)).alias(R.MONETARY),
        R.FIRST_PURCHASE, R.LAST_PURCHASE,
        # whole days, floored as Timedelta.days: integer microseconds, integer division
        F.expr(f"(unix_micros(CAST(TIMESTAMP_NTZ'{date.isoformat(sep=' ')}' AS TIMESTAMP)) - "
               f"unix_micros(CAST(`{R.LAST_PURCHASE}` AS TIMESTAMP))) div {_DAY_US}").alias(R.RECENCY),
    )
    return table.select(C.CUSTOMER_ID, R.RECENCY, R.FREQUENCY, R.MONETARY, R.FIRST_PURCHASE, R.LAST_PURCHASE), date


def _value_counts(df, column: str) -> pd.DataFrame:
    """The distinct values of ``column`` and their counts, sorted by value (collected to the driver)."""
    from pyspark.sql import functions as F

    vc = df.groupBy(column).agg(F.count("*").alias("n")).toPandas()
    return vc.sort_values(column, kind="stable").reset_index(drop=True)


def _repeat(vc: pd.DataFrame, column: str) -> pd.Series:
    """Every value as often as it occurs (sorted): what ``pd.qcut`` would see, rebuilt from the counts."""
    return pd.Series(np.repeat(vc[column].to_numpy(dtype="float64"), vc["n"].to_numpy()), name=column)


def _cut(x, edges: np.ndarray, reverse: bool):
    """The score column: ``pd.cut(x, edges, right=True, include_lowest=True)`` as a SQL expression."""
    from pyspark.sql import functions as F

    idx = sum((F.lit(float(e)) < x).cast("int") for e in edges[:-1])  # searchsorted(edges, x, side="left")
    idx = F.greatest(idx, F.lit(1))  # include_lowest: the smallest edge belongs to the first bin
    n = len(edges) - 1
    return (F.lit(n + 1) - idx) if reverse else idx


def _rank_first(df, column: str, vc: pd.DataFrame):
    """``column``'s rank with ``method="first"`` (ties in customer-id order), as a column of ``df`` named ``_rank``:
    the buyers before the value (from the collected counts) plus the position inside the value's ties."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    offsets = vc.assign(_offset=np.r_[0, np.cumsum(vc["n"].to_numpy())[:-1]].astype("int64"))[[column, "_offset"]]
    spark = df.sparkSession
    off = spark.createDataFrame(offsets.rename(columns={column: "_v"}))
    w = Window.partitionBy(column).orderBy(C.CUSTOMER_ID)
    return (df.join(F.broadcast(off) if len(offsets) < 100_000 else off,
                    F.col(column).cast("double") == F.col("_v").cast("double"), "left")
            .withColumn("_rank", (F.col("_offset") + F.row_number().over(w)).cast("double"))
            .drop("_v", "_offset"))


def _score(df, column: str, score: str, reverse: bool = False, rank_first: bool = False):
    """Add ``score`` (1-5) to the buyers ``df`` as :func:`workbench.segment.rfm.quantile_scores` does."""
    from pyspark.sql import functions as F

    vc = _value_counts(df, column)
    n = int(vc["n"].sum())
    if n < R.N_BINS:
        raise ValueError(f"need at least {R.N_BINS} customers with purchases to score RFM, got {n}")
    if not rank_first:
        try:
            _, edges = pd.qcut(_repeat(vc, column), R.N_BINS, labels=False, retbins=True)
            return df.withColumn(score, _cut(F.col(column).cast("double"), edges, reverse)), vc
        except ValueError:
            log.warning("rfm: %s has too many ties for %d value quantiles; scoring its rank instead", column, R.N_BINS)
    _, edges = pd.qcut(pd.Series(np.arange(1, n + 1, dtype="float64")), R.N_BINS, labels=False, retbins=True)
    ranked = _rank_first(df, column, vc)
    return ranked.withColumn(score, _cut(F.col("_rank"), edges, reverse)).drop("_rank"), vc


def _iqr_flag(column: str, vc: pd.DataFrame, k: float):
    from pyspark.sql import functions as F

    q1, q3 = _repeat(vc, column).quantile([0.25, 0.75]).to_numpy()
    lo, hi = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
    x = F.col(column).cast("double")
    return F.coalesce((x < F.lit(float(lo))) | (x > F.lit(float(hi))), F.lit(False))


def build_rfm(transactions, customers=None, date: pd.Timestamp | None = None,
              segment_map: dict[str, str] | None = None, iqr_k: float = 1.5):
    """Return ``(table, analysis_date)``: the Spark counterpart of :func:`workbench.segment.rfm.build_rfm`."""
    from pyspark.sql import functions as F

    seg_map = segment_map or R.DEFAULT_SEGMENT_MAP
    cell_map = R.check_segment_map(seg_map)  # fail before the work
    table, date = rfm_table(transactions, customers, date)
    table = table.persist()
    buyers = table.where(F.col(R.FREQUENCY) > 0)
    buyers, vc_r = _score(buyers, R.RECENCY, R.R_SCORE, reverse=True)
    buyers, vc_f = _score(buyers, R.FREQUENCY, R.F_SCORE, rank_first=True)
    buyers, vc_m = _score(buyers, R.MONETARY, R.M_SCORE)
    scores = buyers.select(C.CUSTOMER_ID, R.R_SCORE, R.F_SCORE, R.M_SCORE,
                           *[_iqr_flag(m, vc, iqr_k).alias(f"{m}_outlier")
                             for m, vc in ((R.RECENCY, vc_r), (R.FREQUENCY, vc_f), (R.MONETARY, vc_m))])
    out = table.join(scores, C.CUSTOMER_ID, "left")
    rf = F.col(R.R_SCORE) * 10 + F.col(R.F_SCORE)
    seg = F.lit(R.NO_PURCHASE)
    for cell, name in sorted(cell_map.items(), reverse=True):
        seg = F.when(rf == int(cell), F.lit(name)).otherwise(seg)
    out = out.select(
        C.CUSTOMER_ID, R.RECENCY, R.FREQUENCY, R.MONETARY, R.FIRST_PURCHASE, R.LAST_PURCHASE,
        R.R_SCORE, R.F_SCORE, R.M_SCORE,
        F.concat(F.col(R.R_SCORE).cast("string"), F.col(R.F_SCORE).cast("string"),
                 F.col(R.M_SCORE).cast("string")).alias(R.RFM_SCORE),
        seg.alias(R.SEGMENT),
        *[F.coalesce(F.col(f"{m}_outlier"), F.lit(False)).alias(f"{m}_outlier") for m in R.METRICS],
    )
    return out, date


def to_pandas_rfm(table) -> pd.DataFrame:
    """The Spark RFM table as the pandas engine's frame (sorted by id; nullable integer scores; str ids)."""
    df = table.toPandas().sort_values(C.CUSTOMER_ID, kind="stable").reset_index(drop=True)
    for col in (R.RECENCY, R.R_SCORE, R.F_SCORE, R.M_SCORE):
        df[col] = df[col].astype("Int64")
    for col in (C.CUSTOMER_ID, R.RFM_SCORE, R.SEGMENT):
        df[col] = df[col].astype("str")
    return df

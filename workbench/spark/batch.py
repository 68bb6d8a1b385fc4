"""The batch's stages on Spark (see :mod:`workbench.batch`): same params, same artifacts, same metrics keys.

``data`` reads ``data.source`` csv / parquet folders with Spark directly (any Hadoop path: local, HDFS, S3,
DBFS); any other source (the synthetic shop, the real-data adapters, SQL) is read on the driver as the pandas
engine reads it, written once to ``<run>/input/`` as Parquet, and validated in Spark from there. Large
artifacts (data tables, ``customer_segments``, ``recs_als``, the splits) are written by Spark as Parquet
directories named like the pandas engine's files (``artifacts/customer_segments.parquet/``), which
``pandas.read_parquet`` and the run recorder read unchanged; small ones (rules, the validation report) as files.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import pandas as pd

from workbench.data import contract
from workbench.spark.validate import ROW

log = logging.getLogger(__name__)

#: an approxQuantile bracket this wide (in rank share) around a quantile is searched exactly
_BRACKET = 0.002


def _spark():
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


def write_artifact(run, df, name: str) -> Path:
    """Write a Spark DataFrame as the artifact ``name`` (a Parquet directory at the recorder's artifact path)."""
    path = run.rec.artifact_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.drop(ROW).write.mode("overwrite").parquet(str(path))
    return path


# ---- data ---------------------------------------------------------------------------------------------------

def _raw_tables(run) -> dict:
    from workbench.data.sources import _resolve, load_source
    from workbench.spark.tables import read_tables

    data, spark = run.settings.params["data"], _spark()
    source = data.get("source", "synthetic")
    if source in ("csv", "parquet"):
        path = str(data["path"])
        folder = path if "://" in path or path.startswith("dbfs:") else str(_resolve(path))
        return read_tables(spark, folder, source)
    shop = load_source(data, seed=run.settings.seed)  # read on the driver, exactly as the pandas engine reads it
    folder = run.rec.run_dir / "input"
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in shop.tables().items():
        df.to_parquet(folder / f"{name}.parquet", index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
    return read_tables(spark, str(folder), "parquet")


def _data(run) -> dict:
    from workbench.context import DATA_ARTIFACTS
    from workbench.spark.validate import validate_tables

    data = run.settings.params["data"]
    res = validate_tables(_raw_tables(run), strict=bool(data.get("strict", False)))
    for name, df in res.accepted.items():
        res.accepted[name] = df.persist()
        write_artifact(run, res.accepted[name], f"{DATA_ARTIFACTS}/{name}")
    for name, q in res.quarantine.items():
        q.write.mode("overwrite").option("header", True).csv(str(run.rec.run_dir / "quarantine" / f"{name}.csv"))
    run.rec.save_artifact(res.report.to_frame(), "validation_report.csv")
    tables = res.report.tables
    tx = tables[contract.TRANSACTIONS]
    run.rec.log_metrics("data", {
        "source": data["source"],
        **{name: tables[name].rows_accepted for name in contract.REQUIRED_TABLES},
        "rows_read": tx.rows_read, "rows_quarantined": tx.rows_quarantined, "quarantine_reasons": tx.reasons,
        "tables": {n: {"rows_read": t.rows_read, "rows_accepted": t.rows_accepted,
                       "rows_quarantined": t.rows_quarantined} for n, t in tables.items()},
    })
    run.state["tables"] = res.accepted
    return {name: {"rows_read": t.rows_read, "rows_accepted": t.rows_accepted, "rows_quarantined": t.rows_quarantined}
            for name, t in tables.items()}


# ---- segments -----------------------------------------------------------------------------------------------

def _rfm(run) -> dict:
    from pyspark.sql import functions

    from workbench.segment import rfm as segment_rfm
    from workbench.spark.rfm import build_rfm

    s, t = run.settings.segmentation, run.state["tables"]
    table, date = build_rfm(t[contract.TRANSACTIONS], t[contract.CUSTOMERS], s.get("analysis_date"), s.get("segment_map"),
                            s.get("iqr_k", 1.5))
    table = table.persist()
    run.state["rfm"] = table
    counts = {r[segment_rfm.SEGMENT]: int(r["count"]) for r in table.groupBy(segment_rfm.SEGMENT).count().collect()}
    order = segment_rfm.segment_order(s.get("segment_map"))
    return {"analysis_date": str(date.date()), "customers": int(sum(counts.values())),
            "buyers": int(table.where(functions.col(segment_rfm.FREQUENCY) > 0).count()),
            "segments": {g: counts.get(g, 0) for g in order if g != segment_rfm.NO_PURCHASE or counts.get(g, 0) > 0}}


def _kmeans(run) -> dict:
    from pyspark.sql import functions

    from workbench.segment import clusters as segment_clusters
    from workbench.segment import clv
    from workbench.segment.table import ARTIFACT, COLUMNS
    from workbench.spark.models import kmeans_segments

    # k-means (MLlib has no Gaussian mixture selection to match): k fixed by segmentation.clusters.k, or the
    # best silhouette over its k_range
    km = run.settings.clusters
    out, res = kmeans_segments(run.state["rfm"], k=km.get("k"), k_range=km["k_range"], seed=run.settings.seed,
                               fit_sample=int(km.get("fit_sample") or 100_000), n_init=int(km.get("n_init") or 1),
                               name_threshold=km["name_threshold"])
    for col in (clv.EXPECTED_PURCHASES, clv.CLV, clv.P_ALIVE, clv.EXPECTED_SPEND):  # no CLV model in the batch
        out = out.withColumn(col, functions.lit(None).cast("double"))
    extras = [c for c in out.columns if c not in COLUMNS]
    out = out.select(*COLUMNS, *extras).orderBy(contract.CUSTOMER_ID)
    write_artifact(run, out, ARTIFACT)
    sizes = [int(r["count"]) for r in out.where(functions.col(segment_clusters.CLUSTER) != segment_clusters.NO_CLUSTER).groupBy(segment_clusters.CLUSTER).count().collect()]
    run.state["segments"] = out
    return {"model": "kmeans", "k": res.k, "clusters": sorted(sizes, reverse=True)}


# ---- recommendations --------------------------------------------------------------------------------------

def kth_smallest(df, column: str, j: int):
    """The value at 0-based position ``j`` of ``column`` sorted (numeric), without sorting the whole column:
    an approxQuantile bracket around it, then an exact search of the few values inside."""
    from pyspark.sql import functions

    n = df.count()
    p = (j + 0.5) / n
    lo, hi = df.approxQuantile(column, [max(0.0, p - 2 * _BRACKET), min(1.0, p + 2 * _BRACKET)], _BRACKET)
    below = df.where(functions.col(column) < lo).count()
    inside = [r[0] for r in df.where((functions.col(column) >= lo) & (functions.col(column) <= hi)).select(column).orderBy(column).collect()]
    if not 0 <= j - below < len(inside):  # the bracket missed (it cannot, by approxQuantile's guarantee): sort all
        inside, below = [r[0] for r in df.select(column).orderBy(column).collect()], 0
    return inside[j - below]


def chronological_split(rows, ratio: float = 0.8, cutoff=None):
    """``(train, test rows)`` as :func:`workbench.evaluate.split.chronological_split`: the cut-off is the time at
    position ``floor(ratio * n)`` of the sorted timestamps; rows before it train, the rest test."""
    import math

    from pyspark.sql import functions

    if cutoff is None:
        micros = rows.select(functions.unix_micros(functions.col(contract.TIMESTAMP).cast("timestamp")).alias("_us"))
        n = micros.count()
        j = min(int(math.floor(ratio * n)), n - 1)
        cutoff = pd.Timestamp(kth_smallest(micros, "_us", j), unit="us")
    cut = functions.lit(pd.Timestamp(cutoff).to_pydatetime()).cast("timestamp_ntz")
    return rows.where(functions.col(contract.TIMESTAMP) < cut), rows.where(functions.col(contract.TIMESTAMP) >= cut)


def leave_last_basket_out(rows):
    """``(train, test rows)`` as :func:`workbench.evaluate.split.leave_last_basket_out`: each customer's last
    invoice (latest time, ties: the largest invoice id) held out, customers with one invoice kept whole."""
    from pyspark.sql import Window
    from pyspark.sql import functions

    baskets = rows.groupBy(contract.CUSTOMER_ID, contract.TRANSACTION_ID).agg(functions.max(contract.TIMESTAMP).alias("_t"))
    per = Window.partitionBy(contract.CUSTOMER_ID)
    last = Window.partitionBy(contract.CUSTOMER_ID).orderBy(functions.desc("_t"), functions.desc(contract.TRANSACTION_ID))
    held = (baskets.withColumn("_n", functions.count("*").over(per)).withColumn("_i", functions.row_number().over(last))
            .where((functions.col("_i") == 1) & (functions.col("_n") >= 2)).select(contract.CUSTOMER_ID, contract.TRANSACTION_ID))
    key = [contract.CUSTOMER_ID, contract.TRANSACTION_ID]
    return rows.join(held, key, "left_anti"), rows.join(held, key, "left_semi")


def relevant_pairs(test_rows):
    """One row per held-out (customer, product) pair, as :func:`workbench.evaluate.experiment.relevant_pairs`:
    first ``timestamp``, summed ``quantity``, the quantity-weighted ``unit_price``."""
    from pyspark.sql import functions

    out = test_rows.groupBy(contract.CUSTOMER_ID, contract.PRODUCT_ID).agg(
        functions.min(contract.TIMESTAMP).alias(contract.TIMESTAMP), functions.sum(contract.QUANTITY).alias(contract.QUANTITY),
        functions.sum(functions.col(contract.UNIT_PRICE) * functions.col(contract.QUANTITY)).alias("_revenue"))
    return (out.withColumn(contract.UNIT_PRICE, functions.col("_revenue") / functions.when(functions.col(contract.QUANTITY) != 0, functions.col(contract.QUANTITY)))
            .drop("_revenue").orderBy(contract.CUSTOMER_ID, contract.PRODUCT_ID))


def split(sales, ev):
    """``(train rows, relevant test pairs)`` of the sales lines under the run's :class:`EvaluationSettings`."""
    if ev.split == "chronological":
        train, test = chronological_split(sales, ev.ratio, ev.cutoff)
    else:
        train, test = leave_last_basket_out(sales)
    if ev.drop_seen_pairs:
        test = test.join(train.select(contract.CUSTOMER_ID, contract.PRODUCT_ID).distinct(), [contract.CUSTOMER_ID, contract.PRODUCT_ID],
                         "left_anti")
    return train, relevant_pairs(test)


def _als(run) -> dict:
    from pyspark.sql import functions

    from workbench.spark.metrics import evaluate_ranking
    from workbench.spark.models import SparkALS

    st, t = run.settings, run.state["tables"]
    sales = t[contract.TRANSACTIONS].where(functions.col(contract.QUANTITY) > 0)
    train, test = split(sales, st.evaluation)
    train, test = train.persist(), test.persist()
    customers = test.select(contract.CUSTOMER_ID).distinct()
    model = SparkALS(**st.als).fit(train)
    recs = model.recommend(customers, k=st.k).persist()
    write_artifact(run, train, "split_train")
    write_artifact(run, test, "split_test")
    write_artifact(run, recs.select(contract.CUSTOMER_ID, contract.PRODUCT_ID, "rank", "score"), "recs_als")
    scores = evaluate_ranking(test, recs, k=st.k, n_items=t[contract.PRODUCTS].count())
    run.state["recs"] = recs
    return {"split": st.evaluation.split, "train_rows": int(train.count()), "test_pairs": int(test.count()),
            "customers": int(customers.count()), "metrics": scores}


def _rules(run) -> dict:
    from workbench.spark.models import fpgrowth_rules, rules_to_pandas

    rules, info = fpgrowth_rules(run.state["tables"][contract.TRANSACTIONS], **run.settings.rules)
    table = rules_to_pandas(rules)
    run.rec.save_artifact(table, "rules")
    return {"baskets": info["n_baskets"], "min_support": float(info["min_support"]), "itemsets": info["n_itemsets"],
            "rules": len(table)}


STAGES: dict[str, Callable] = {"data": _data, "rfm": _rfm, "kmeans": _kmeans, "als": _als, "rules": _rules}


def stages(master: str | None = None) -> tuple[dict, Callable[[], None]]:
    """Return (``{stage: function}``, release): a session on ``master`` (default ``local[*]``, or the master
    spark-submit / Databricks chose; an active session, e.g. a notebook's or a test's, is used as it is), and a
    function that stops it if this call started it."""
    from workbench.spark.session import LOCAL, spark_session

    active = _spark()
    if active is None and master is None and _submitted():
        master = ""  # spark-submit / a Databricks job already chose the master: leave it to them
    spark = active or spark_session(LOCAL if master is None else (master or None))
    return STAGES, (lambda: None) if active is not None else spark.stop


def _submitted() -> bool:
    """Whether this Python runs under spark-submit or on a Databricks cluster (the master is theirs)."""
    import os

    return bool(os.environ.get("PYSPARK_GATEWAY_PORT") or os.environ.get("DATABRICKS_RUNTIME_VERSION"))

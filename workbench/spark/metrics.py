"""Ranking metrics in Spark SQL with :mod:`workbench.evaluate.metrics`' definitions.

Per customer of ``rating_true`` at K: the recommendations ordered by ``rank`` (ties by product id), a product
listed twice counted at its best position, the first K kept; ``n_rel`` = distinct relevant products.
precision = hits / K, recall = hits / n_rel, ap = sum over hits of (hits so far / position) / n_rel (or
/ min(n_rel, K) with ``map_normalize="min_k"``), ndcg = DCG / IDCG with binary gains, hit = hits > 0,
rr = 1 / first hit's position. Means over the customers of ``rating_true``; one without recommendations
scores 0 on every metric.
"""
from __future__ import annotations

from workbench.data import contract as C
from workbench.evaluate.metrics import METRIC_NAMES, PER_CUSTOMER_COLUMNS, RANK


def per_customer_metrics(rating_true, rating_pred, k: int = 10, map_normalize: str = "relevant"):
    """Return a DataFrame with one row per customer of ``rating_true``: precision, recall, ap, ndcg, hit, rr."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if k < 1:
        raise ValueError(f"k must be >= 1, not {k}")
    if map_normalize not in ("relevant", "min_k"):
        raise ValueError(f"map_normalize must be 'relevant' or 'min_k', not {map_normalize!r}")
    u, i = C.CUSTOMER_ID, C.PRODUCT_ID
    truth = rating_true.select(F.col(u).cast("string").alias(u), F.col(i).cast("string").alias(i)).distinct()
    n_rel = truth.groupBy(u).agg(F.count("*").alias("_n_rel"))
    pred = rating_pred.select(F.col(u).cast("string").alias(u), F.col(i).cast("string").alias(i),
                              F.col(RANK).cast("double").alias("_key"))
    best = pred.groupBy(u, i).agg(F.min("_key").alias("_key"))  # a repeated product counts at its best position
    pos = F.row_number().over(Window.partitionBy(u).orderBy("_key", i))
    top = best.join(n_rel.select(u), u).withColumn("_pos", pos).where(F.col("_pos") <= k)
    hits = top.join(truth.withColumn("_hit", F.lit(1)), [u, i], "left").where(F.col("_hit").isNotNull())
    cum = F.row_number().over(Window.partitionBy(u).orderBy("_pos"))
    hits = hits.withColumn("_cum", cum)
    agg = hits.groupBy(u).agg(
        F.count("*").cast("double").alias("_hits"),
        F.sum(F.col("_cum") / F.col("_pos")).alias("_ap_sum"),
        F.sum(F.lit(1.0) / F.log2(F.col("_pos") + 1.0)).alias("_dcg"),
        F.min("_pos").alias("_first"),
    )
    ideal = F.aggregate(F.sequence(F.lit(1), F.least(F.col("_n_rel"), F.lit(int(k)))), F.lit(0.0),
                        lambda acc, p: acc + F.lit(1.0) / F.log2(p.cast("double") + 1.0))
    t = n_rel.join(agg, u, "left").na.fill(0.0, ["_hits", "_ap_sum", "_dcg"])
    denom = F.col("_n_rel") if map_normalize == "relevant" else F.least(F.col("_n_rel"), F.lit(int(k)))
    return t.select(
        u,
        (F.col("_hits") / F.lit(float(k))).alias("precision"),
        (F.col("_hits") / F.greatest(F.col("_n_rel"), F.lit(1))).alias("recall"),
        (F.col("_ap_sum") / F.greatest(denom, F.lit(1))).alias("ap"),
        F.when(ideal > 0, F.col("_dcg") / ideal).otherwise(F.lit(0.0)).alias("ndcg"),
        (F.col("_hits") > 0).cast("double").alias("hit"),
        F.coalesce(F.lit(1.0) / F.col("_first"), F.lit(0.0)).alias("rr"),
    )


def evaluate_ranking(rating_true, rating_pred, k: int = 10, n_items: int | None = None,
                     map_normalize: str = "relevant") -> dict:
    """Return ``{"precision@k", "recall@k", "map@k", "ndcg@k", "hit@k", "mrr@k", "coverage"}``: means over the
    customers of ``rating_true`` and the share of ``n_items`` products in some top k (the keys and meaning of
    :func:`workbench.evaluate.metrics.evaluate_ranking`)."""
    from pyspark.sql import functions as F

    pc = per_customer_metrics(rating_true, rating_pred, k, map_normalize)
    row = pc.agg(*[F.avg(c).alias(c) for c in PER_CUSTOMER_COLUMNS]).first()
    out = {f"{METRIC_NAMES[c]}@{k}": float(row[c] or 0.0) for c in PER_CUSTOMER_COLUMNS}
    listed = rating_pred.where(F.col(RANK) <= k).select(C.PRODUCT_ID).distinct().count()
    if n_items is None:
        n_items = rating_true.select(C.PRODUCT_ID).unionByName(rating_pred.select(C.PRODUCT_ID)).distinct().count()
    out["coverage"] = listed / max(int(n_items), 1) if listed else 0.0
    return out

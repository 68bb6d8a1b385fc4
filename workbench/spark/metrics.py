"""Ranking metrics in Spark SQL with :mod:`workbench.evaluate.metrics`' definitions.

Per customer of ``rating_true`` at K: the recommendations ordered by ``rank`` (ties by product id), a product
listed twice counted at its best position, the first K kept; ``n_rel`` = distinct relevant products.
precision = hits / K, recall = hits / n_rel, ap = sum over hits of (hits so far / position) / n_rel (or
/ min(n_rel, K) with ``map_normalize="min_k"``), ndcg = DCG / IDCG with binary gains, hit = hits > 0,
rr = 1 / first hit's position. Means over the customers of ``rating_true``; one without recommendations
scores 0 on every metric.
"""
from __future__ import annotations

from workbench.data import contract
from workbench.evaluate.metrics import METRIC_NAMES, PER_CUSTOMER_COLUMNS, RANK


def per_customer_metrics(rating_true, rating_pred, k: int = 10, map_normalize: str = "relevant"):
    """Return a DataFrame with one row per customer of ``rating_true``: precision, recall, ap, ndcg, hit, rr."""
    from pyspark.sql import Window
    from pyspark.sql import functions

    if k < 1:
        raise ValueError(f"k must be >= 1, not {k}")
    if map_normalize not in ("relevant", "min_k"):
        raise ValueError(f"map_normalize must be 'relevant' or 'min_k', not {map_normalize!r}")
    u, i = contract.CUSTOMER_ID, contract.PRODUCT_ID
    truth = rating_true.select(functions.col(u).cast("string").alias(u), functions.col(i).cast("string").alias(i)).distinct()
    n_rel = truth.groupBy(u).agg(functions.count("*").alias("_n_rel"))
    pred = rating_pred.select(functions.col(u).cast("string").alias(u), functions.col(i).cast("string").alias(i),
                              functions.col(RANK).cast("double").alias("_key"))
    best = pred.groupBy(u, i).agg(functions.min("_key").alias("_key"))  # a repeated product counts at its best position
    pos = functions.row_number().over(Window.partitionBy(u).orderBy("_key", i))
    top = best.join(n_rel.select(u), u).withColumn("_pos", pos).where(functions.col("_pos") <= k)
    hits = top.join(truth.withColumn("_hit", functions.lit(1)), [u, i], "left").where(functions.col("_hit").isNotNull())
    cum = functions.row_number().over(Window.partitionBy(u).orderBy("_pos"))
    hits = hits.withColumn("_cum", cum)
    agg = hits.groupBy(u).agg(
        functions.count("*").cast("double").alias("_hits"),
        functions.sum(functions.col("_cum") / functions.col("_pos")).alias("_ap_sum"),
        functions.sum(functions.lit(1.0) / functions.log2(functions.col("_pos") + 1.0)).alias("_dcg"),
        functions.min("_pos").alias("_first"),
    )
    ideal = functions.aggregate(functions.sequence(functions.lit(1), functions.least(functions.col("_n_rel"), functions.lit(int(k)))), functions.lit(0.0),
                        lambda acc, p: acc + functions.lit(1.0) / functions.log2(p.cast("double") + 1.0))
    t = n_rel.join(agg, u, "left").na.fill(0.0, ["_hits", "_ap_sum", "_dcg"])
    denom = functions.col("_n_rel") if map_normalize == "relevant" else functions.least(functions.col("_n_rel"), functions.lit(int(k)))
    return t.select(
        u,
        (functions.col("_hits") / functions.lit(float(k))).alias("precision"),
        (functions.col("_hits") / functions.greatest(functions.col("_n_rel"), functions.lit(1))).alias("recall"),
        (functions.col("_ap_sum") / functions.greatest(denom, functions.lit(1))).alias("ap"),
        functions.when(ideal > 0, functions.col("_dcg") / ideal).otherwise(functions.lit(0.0)).alias("ndcg"),
        (functions.col("_hits") > 0).cast("double").alias("hit"),
        functions.coalesce(functions.lit(1.0) / functions.col("_first"), functions.lit(0.0)).alias("rr"),
    )


def evaluate_ranking(rating_true, rating_pred, k: int = 10, n_items: int | None = None,
                     map_normalize: str = "relevant") -> dict:
    """Return ``{"precision@k", "recall@k", "map@k", "ndcg@k", "hit@k", "mrr@k", "coverage"}``: means over the
    customers of ``rating_true`` and the share of ``n_items`` products in some top k (the keys and meaning of
    :func:`workbench.evaluate.metrics.evaluate_ranking`)."""
    from pyspark.sql import functions

    pc = per_customer_metrics(rating_true, rating_pred, k, map_normalize)
    row = pc.agg(*[functions.avg(c).alias(c) for c in PER_CUSTOMER_COLUMNS]).first()
    out = {f"{METRIC_NAMES[c]}@{k}": float(row[c] or 0.0) for c in PER_CUSTOMER_COLUMNS}
    listed = rating_pred.where(functions.col(RANK) <= k).select(contract.PRODUCT_ID).distinct().count()
    if n_items is None:
        n_items = rating_true.select(contract.PRODUCT_ID).unionByName(rating_pred.select(contract.PRODUCT_ID)).distinct().count()
    out["coverage"] = listed / max(int(n_items), 1) if listed else 0.0
    return out

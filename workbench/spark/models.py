"""MLlib on the workbench's tables: k-means on the clustering features, implicit ALS, FP-growth rules.

* :func:`kmeans_segments`: ``log1p`` recency / frequency / monetary (monetary clipped at 0) of the buyers, as
  :func:`workbench.segment.clusters.cluster_features`; standardized; MLlib ``KMeans`` at a given k or the
  best silhouette (MLlib's ``ClusteringEvaluator``) over ``k_range`` on a sample; clusters named from their
  centroid z-scores by :func:`workbench.segment.clusters.name_clusters`.
* :class:`SparkALS`: MLlib ``ALS(implicitPrefs=True)`` on binary purchases; top-K per customer without the
  products they already have (the user factors scored in ``mapInPandas`` against the broadcast item factors;
  MLlib's ``recommendForAllUsers`` when bought products may be recommended again), popularity for customers
  unknown at fit time.
* :func:`fpgrowth_rules`: MLlib ``FPGrowth`` on invoices; rules with one-item consequents from itemsets of at
  most ``max_len`` items, lift above ``min_lift``, in :data:`workbench.recommend.basket.RULE_COLUMNS`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.errors import ConfigError
from workbench.evaluate.metrics import RANK, SCORE
from workbench.recommend import basket
from workbench.segment import clusters as segment_clusters
from workbench.segment import rfm

log = logging.getLogger(__name__)

FEATURES = "features"
USER, ITEM = "_user", "_item"


# ---- k-means ---------------------------------------------------------------------------------------------

@dataclass
class KMeansResult:
    """The fitted k-means: k, silhouette per k tried, centroids (z-scores), cluster names."""

    k: int
    silhouettes: dict
    centroids_z: pd.DataFrame
    names: dict


def cluster_features(table):
    """The buyers' clustering features (``customer_id``, recency, frequency, monetary as log1p), as
    :func:`workbench.segment.clusters.cluster_features` without extras."""
    from pyspark.sql import functions

    b = table.where(functions.col(rfm.FREQUENCY) > 0)
    return b.select(contract.CUSTOMER_ID,
                    functions.log1p(functions.col(rfm.RECENCY).cast("double")).alias(rfm.RECENCY),
                    functions.log1p(functions.col(rfm.FREQUENCY).cast("double")).alias(rfm.FREQUENCY),
                    functions.log1p(functions.greatest(functions.col(rfm.MONETARY), functions.lit(0.0))).alias(rfm.MONETARY))


def kmeans_segments(table, k: int | None = None, k_range=(2, 8), seed: int = 42, fit_sample: int = 100_000,
                    n_init: int = 3, max_iter: int = 30, name_threshold: float = 0.5):
    """Return ``(table with cluster and cluster_name, KMeansResult)``; customers without purchases get
    cluster -1 and ``no_purchase``, as :func:`workbench.segment.clusters.assign_clusters`.

    The final model is the lowest-cost of ``n_init`` MLlib fits (seeds ``seed``, ``seed + 1``, ...), as
    scikit-learn's ``n_init``: one k-means|| start lands in a local optimum often enough to change the clusters.
    """
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.evaluation import ClusteringEvaluator
    from pyspark.ml.feature import StandardScaler, VectorAssembler
    from pyspark.sql import functions

    cols = [rfm.RECENCY, rfm.FREQUENCY, rfm.MONETARY]
    feats = VectorAssembler(inputCols=cols, outputCol="_raw").transform(cluster_features(table))
    scaler = StandardScaler(inputCol="_raw", outputCol=FEATURES, withMean=True, withStd=True).fit(feats)
    # k-means iterates: one partition per core keeps each pass's task count at what the cores can run
    cores = table.sparkSession.sparkContext.defaultParallelism
    z = scaler.transform(feats).select(contract.CUSTOMER_ID, FEATURES).coalesce(max(cores, 1)).persist()
    n = z.count()
    lo, hi = int(k_range[0]), int(k_range[1])
    sample = z.sample(fraction=min(1.0, fit_sample / max(n, 1)), seed=seed) if n > fit_sample else z
    silhouettes = {}
    if k is None:  # the best silhouette over k_range, on the fit sample
        evaluator = ClusteringEvaluator(featuresCol=FEATURES)
        for kk in range(lo, hi + 1):
            m = KMeans(k=kk, seed=seed, maxIter=max_iter, featuresCol=FEATURES).fit(sample)
            silhouettes[kk] = float(evaluator.evaluate(m.transform(sample)))
        k = max(silhouettes, key=silhouettes.get)
    fits = [KMeans(k=int(k), seed=seed + i, maxIter=max_iter, featuresCol=FEATURES).fit(sample)
            for i in range(max(int(n_init), 1))]
    model = min(fits, key=lambda m: m.summary.trainingCost)
    centroids = pd.DataFrame(np.vstack(model.clusterCenters()), columns=cols).rename_axis(segment_clusters.CLUSTER)
    names = segment_clusters.name_clusters(centroids, name_threshold)
    labels = model.transform(z).select(contract.CUSTOMER_ID, functions.col("prediction").cast("long").alias(segment_clusters.CLUSTER))
    name_map = functions.create_map(*[x for c, nm in sorted(names.items()) for x in (functions.lit(c), functions.lit(nm))])
    out = (table.join(labels, contract.CUSTOMER_ID, "left")
           .withColumn(segment_clusters.CLUSTER, functions.coalesce(functions.col(segment_clusters.CLUSTER), functions.lit(segment_clusters.NO_CLUSTER)).cast("long"))
           .withColumn(segment_clusters.CLUSTER_NAME, functions.coalesce(name_map[functions.col(segment_clusters.CLUSTER)], functions.lit(rfm.NO_PURCHASE))))
    log.info("spark k-means: k=%d on %d of %d buyers", k, sample.count() if n > fit_sample else n, n)
    return out, KMeansResult(int(k), silhouettes, centroids, names)


# ---- implicit ALS ----------------------------------------------------------------------------------------

def id_index(df, column: str, name: str):
    """``[column, name]``: a dense 0-based integer per distinct id (in id order), for MLlib's integer columns."""
    from pyspark.sql import Window
    from pyspark.sql import functions

    return (df.select(column).distinct()
            .withColumn(name, (functions.row_number().over(Window.orderBy(column)) - 1).cast("int")))


class SparkALS:
    """Implicit-feedback ALS (MLlib ``implicitPrefs``) on binary purchases; the fitted model in ``model_``.

    The parameters mean what they mean for :class:`workbench.recommend.implicit_models.ALS` (``implicit``'s
    ALS), and the fit maps them onto MLlib's so both minimise the same loss as far as MLlib allows:

    - ``factors`` and ``iterations`` are MLlib's ``rank`` and ``maxIter``.
    - Confidence: ``implicit`` weighs a purchase ``alpha * 1``, MLlib ``1 + alpha' * 1``, so MLlib's alpha is
      ``alpha - 1`` (``mllib_alpha_``); ``alpha`` below 1 has no MLlib equivalent and is refused.
    - Penalty: ``implicit`` adds ``regularization * |x|^2`` once per customer and per product; MLlib's ALS-WR
      multiplies its ``regParam`` by each customer's purchases and each product's buyers. ``reg_param_`` =
      ``regularization * (customers + products) / (2 * pairs)`` makes the two total penalties equal when the
      factor norms are alike. The penalty still shifts from light to heavy buyers, so the two fits differ a little.
    """

    def __init__(self, factors: int = 32, regularization: float = 1.0, alpha: float = 1.0, iterations: int = 15,
                 random_state: int = 42):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state

    def fit(self, rows) -> "SparkALS":
        """Fit on purchase rows (``customer_id``, ``product_id``; each distinct pair counts once); return self."""
        if float(self.alpha) < 1.0:
            raise ConfigError(f"ALS alpha={self.alpha} weighs a purchase below a non-purchase, which MLlib's implicit "
                              "ALS cannot express (it weighs a purchase 1 + its alpha, and its alpha is >= 0); the "
                              "Spark engine needs alpha >= 1")
        from pyspark.ml.recommendation import ALS
        from pyspark.sql import functions

        from workbench.spark.session import ensure_checkpoint_dir

        pairs = rows.select(contract.CUSTOMER_ID, contract.PRODUCT_ID).distinct()
        spark = rows.sparkSession
        ensure_checkpoint_dir(spark)  # ALS cuts its lineage every checkpointInterval iterations
        blocks = max(2, spark.sparkContext.defaultParallelism)  # MLlib's default of 10 only adds tasks on few cores
        self.users_ = id_index(pairs, contract.CUSTOMER_ID, USER).persist()
        self.items_ = id_index(pairs, contract.PRODUCT_ID, ITEM).persist()
        self.seen_ = (pairs.join(self.users_, contract.CUSTOMER_ID).join(functions.broadcast(self.items_), contract.PRODUCT_ID)
                      .select(USER, ITEM).persist())
        n_pairs, n_users, n_items = pairs.count(), self.users_.count(), self.items_.count()
        self.mllib_alpha_ = float(self.alpha) - 1.0
        self.reg_param_ = float(self.regularization) * (n_users + n_items) / max(2 * n_pairs, 1)
        als = ALS(rank=int(self.factors), regParam=self.reg_param_, alpha=self.mllib_alpha_,
                  maxIter=int(self.iterations), implicitPrefs=True, seed=int(self.random_state), userCol=USER,
                  itemCol=ITEM, ratingCol="_rating", coldStartStrategy="drop", nonnegative=False,
                  numUserBlocks=blocks, numItemBlocks=blocks, checkpointInterval=5)
        self.model_ = als.fit(self.seen_.withColumn("_rating", functions.lit(1.0).cast("float")))
        # popularity (customers per product) for customers unknown at fit time
        self.popular_ = (pairs.groupBy(contract.PRODUCT_ID).agg(functions.count("*").alias(SCORE))
                         .orderBy(functions.desc(SCORE), contract.PRODUCT_ID))
        return self

    def recommend(self, customers=None, k: int = 10, exclude_seen: bool = True):
        """Top-``k`` per customer ``[customer_id, product_id, score, rank]``, products already bought left out.

        ``customers`` (a DataFrame with ``customer_id``; default: every customer fitted) may hold customers
        unknown at fit time: they get the most popular products. Scoring runs in ``mapInPandas`` over the
        user factors with the item factors broadcast (the catalog is small, the customers are not) and
        :func:`workbench.recommend.base.top_k`, so a customer's bought products never cut the list short.
        Without ``exclude_seen`` it is MLlib's own ``recommendForAllUsers``.
        """
        from pyspark.sql import Window
        from pyspark.sql import functions
        from pyspark.sql import types

        if not exclude_seen and customers is None:
            recs = self.model_.recommendForAllUsers(k).select(USER, functions.posexplode("recommendations").alias("_p", "_r"))
            scored = recs.select(USER, functions.col(f"_r.{ITEM}").alias(ITEM), functions.col("_r.rating").cast("double").alias(SCORE))
        else:
            items = self.model_.itemFactors.toPandas().sort_values("id")
            V = np.zeros((int(items["id"].max()) + 1, int(self.factors)), dtype=np.float64)
            V[items["id"].to_numpy()] = np.vstack(items["features"].to_numpy())
            users = self.model_.userFactors.withColumnRenamed("id", USER)
            if customers is not None:
                wanted = customers.select(contract.CUSTOMER_ID).distinct()
                users = users.join(wanted.join(self.users_, contract.CUSTOMER_ID).select(USER), USER)
            if exclude_seen:
                seen = self.seen_.groupBy(USER).agg(functions.collect_list(ITEM).alias("_seen"))
                users = users.join(seen, USER, "left")
            else:
                users = users.withColumn("_seen", functions.lit(None).cast("array<int>"))
            kk = int(k)

            def top(batches):
                from workbench.recommend.base import top_k

                for pdf in batches:
                    if not len(pdf):
                        continue
                    scores = np.vstack(pdf["features"].to_numpy()).astype(np.float64) @ V.T
                    for row, s in enumerate(pdf["_seen"]):
                        if s is not None and len(s):
                            scores[row, np.asarray(s, dtype=np.int64)] = -np.inf
                    idx, val = top_k(scores, kk)
                    keep = np.isfinite(val).ravel()
                    yield pd.DataFrame({USER: np.repeat(pdf[USER].to_numpy(), idx.shape[1])[keep],
                                        ITEM: idx.ravel()[keep].astype(np.int32), SCORE: val.ravel()[keep]})

            schema = types.StructType([types.StructField(USER, types.IntegerType()), types.StructField(ITEM, types.IntegerType()),
                                   types.StructField(SCORE, types.DoubleType())])
            scored = users.select(USER, "features", "_seen").mapInPandas(top, schema)
        scored = (scored.join(self.users_, USER).join(functions.broadcast(self.items_), ITEM)
                  .select(contract.CUSTOMER_ID, contract.PRODUCT_ID, SCORE))
        if customers is not None:
            cold = wanted.join(self.users_, contract.CUSTOMER_ID, "left_anti")
            top_items = self.popular_.limit(k).withColumn(SCORE, functions.col(SCORE).cast("double"))
            scored = scored.unionByName(cold.crossJoin(functions.broadcast(top_items))
                                        .select(contract.CUSTOMER_ID, contract.PRODUCT_ID, SCORE))
        w = Window.partitionBy(contract.CUSTOMER_ID).orderBy(functions.desc(SCORE), contract.PRODUCT_ID)
        return (scored.withColumn(RANK, functions.row_number().over(w).cast("long")).where(functions.col(RANK) <= k)
                .select(contract.CUSTOMER_ID, contract.PRODUCT_ID, SCORE, RANK))


# ---- FP-growth rules -------------------------------------------------------------------------------------

def baskets(transactions):
    """One row per invoice with its distinct products sold (``items``); returns are left out."""
    from pyspark.sql import functions

    sales = transactions.where(functions.col(contract.QUANTITY) > 0)
    return sales.groupBy(contract.TRANSACTION_ID).agg(functions.array_sort(functions.collect_set(contract.PRODUCT_ID)).alias("items"))


def fpgrowth_rules(transactions, min_support: float | None = None, min_baskets: int = 5, min_confidence: float = 0.1,
                   max_len: int | None = 3, min_lift: float | None = 1.0, num_partitions: int | None = None):
    """Return ``(rules, info)``: the rules DataFrame (``RULE_COLUMNS``, item lists sorted) and the counts.

    The minimum support resolves as :func:`workbench.recommend.basket.resolve_min_support`. MLlib mines every
    itemset length and gives one-item consequents; rules from itemsets longer than ``max_len`` are dropped so
    the table equals the pandas engine's (which mines at most ``max_len`` items).
    """
    from pyspark.ml.fpm import FPGrowth
    from pyspark.sql import functions

    bk = baskets(transactions).persist()
    n = bk.count()
    s = basket.resolve_min_support(n, min_support, min_baskets)
    # a little below min_confidence here, exactly min_confidence below with the pandas engine's arithmetic
    # (support(A u C) / support(A) of fractions: 6/60 baskets is 0.09999999999999999 there, not 0.1)
    fp = FPGrowth(itemsCol="items", minSupport=s, minConfidence=float(min_confidence) * (1 - 1e-9),
                  **({"numPartitions": int(num_partitions)} if num_partitions else {}))
    model = fp.fit(bk)
    freq = model.freqItemsets.withColumn("_key", functions.array_sort("items")).persist()
    n_items = freq.count()
    rules = model.associationRules
    if max_len is not None:
        rules = rules.where(functions.size("antecedent") + 1 <= int(max_len))
    sup = lambda alias: freq.select(functions.col("_key").alias(alias), (functions.col("freq") / functions.lit(n)).alias(f"{alias}_s"))  # noqa: E731
    rules = (rules.withColumn("_a", functions.array_sort("antecedent")).withColumn("_c", functions.array_sort("consequent"))
             .join(functions.broadcast(sup("_a")), "_a").join(functions.broadcast(sup("_c")), "_c"))
    sa, sc = functions.col("_a_s"), functions.col("_c_s")
    conf = (functions.col("support") * functions.lit(float(n))) / (sa * functions.lit(float(n)))  # mlxtend's formula, operation for operation
    rules = rules.where(conf >= float(min_confidence))
    if min_lift is not None:
        rules = rules.where(conf / sc > float(min_lift))
    out = rules.select(
        functions.col("_a").alias(basket.ANTECEDENTS), functions.col("_c").alias(basket.CONSEQUENTS),
        sa.alias(basket.ANTECEDENT_SUPPORT), sc.alias(basket.CONSEQUENT_SUPPORT), functions.col("support").alias(basket.SUPPORT),
        conf.alias(basket.CONFIDENCE), (conf / sc).alias(basket.LIFT),
        (functions.col("support") - sa * sc).alias(basket.LEVERAGE),
        functions.when(conf >= 1.0, functions.lit(float("inf"))).otherwise((functions.lit(1.0) - sc) / (functions.lit(1.0) - conf)).alias(basket.CONVICTION),
    ).orderBy(functions.desc(basket.LIFT), functions.desc(basket.CONFIDENCE), functions.desc(basket.SUPPORT),
              functions.array_join(basket.ANTECEDENTS, "|"), functions.array_join(basket.CONSEQUENTS, "|"))
    short = freq.where(functions.size("items") <= int(max_len)).count() if max_len is not None else n_items
    info = {"n_baskets": int(n), "min_support": s, "n_itemsets": int(short), "n_itemsets_any_length": int(n_items)}
    return out, info


def rules_to_pandas(rules) -> pd.DataFrame:
    """The rules as the pandas engine's table (item lists as Python lists of str)."""
    df = rules.toPandas()
    for col in (basket.ANTECEDENTS, basket.CONSEQUENTS):
        df[col] = [list(map(str, v)) for v in df[col]]
    return df.reset_index(drop=True)


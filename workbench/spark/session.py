"""A SparkSession for the batch: local, a standalone cluster, or whatever a managed cluster provides."""
from __future__ import annotations

import logging
import os
import sys

from workbench.spark import require_pyspark

log = logging.getLogger(__name__)

#: the default master: every core of this machine
LOCAL = "local[*]"

#: settings every workbench session gets (``conf`` overrides them)
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",                 # naive timestamps stay what they are
    "spark.sql.execution.arrow.pyspark.enabled": "true",  # toPandas / createDataFrame through Arrow
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",  # pandas reads it without INT96
    "spark.sql.shuffle.partitions": "8",                 # the shops are millions of rows, not billions
    "spark.sql.adaptive.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "4g",
    # deep plans (ALS's iterations) are serialised recursively: a larger thread stack than Java's 1 MB default
    "spark.driver.extraJavaOptions": "-Xss16m",
    "spark.executor.extraJavaOptions": "-Xss16m",
}


def python_for_workers() -> str:
    """The interpreter Python workers must run (this one: it has pyarrow, pandas and the package)."""
    return os.environ.get("PYSPARK_PYTHON") or sys.executable


def spark_session(master: str | None = LOCAL, app_name: str = "workbench", conf: dict | None = None):
    """Return a SparkSession on ``master`` with :data:`DEFAULT_CONF` (plus ``conf``).

    ``master=None`` leaves the master to the environment (``spark-submit --master ...`` or a Databricks
    cluster, where a session already exists and is returned as it is). Python workers run this interpreter
    (``PYSPARK_PYTHON``), so they find pyarrow.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", python_for_workers())
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    for key, value in {**DEFAULT_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    ensure_checkpoint_dir(spark)
    log.info("spark %s on %s", spark.version, spark.sparkContext.master)
    return spark


def ensure_checkpoint_dir(spark) -> str:
    """Return the session's checkpoint directory, setting a temporary local one when there is none.

    MLlib's ALS checkpoints its factors every ``checkpointInterval`` iterations only when a directory is set;
    without one, the lineage of 15 iterations is serialised whole into every task and overflows the stack. On
    a multi-machine cluster set a shared one first (``spark.sparkContext.setCheckpointDir("hdfs:///...")``,
    ``dbfs:/...``): a local directory only works where the driver and the executors share a disk.
    """
    sc = spark.sparkContext
    current = sc.getCheckpointDir()
    if current:
        return current
    import tempfile

    sc.setCheckpointDir(tempfile.mkdtemp(prefix="workbench-spark-checkpoints-"))
    return sc.getCheckpointDir()

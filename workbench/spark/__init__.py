"""The batch stages on Apache Spark (optional extra ``[spark]``: ``pip install 'workbench[spark]'``).

Same contract, same conventions, same artifacts as the pandas stages, for shops that outgrow one machine:

* :mod:`~workbench.spark.session`: a SparkSession for a master URL (``local[*]``, ``spark://host:7077``,
  ``yarn``, or the one a managed cluster already has);
* :mod:`~workbench.spark.tables`: the contract's tables as Spark DataFrames (Parquet or CSV), the contract's
  schemas mapped to ``StructType``;
* :mod:`~workbench.spark.validate`: the validation rules in Spark SQL (quarantine, ``accepted + quarantined =
  read``);
* :mod:`~workbench.spark.rfm`: RFM, scores and segments in Spark SQL with :mod:`workbench.segment.rfm`'s conventions;
* :mod:`~workbench.spark.models`: MLlib k-means on the clustering features, implicit ALS, FP-growth rules;
* :mod:`~workbench.spark.metrics`: ranking metrics with :mod:`workbench.evaluate.metrics`' definitions;
* :mod:`~workbench.spark.batch`: the stages in order, writing the workbench's artifacts.

pyspark is imported inside these modules only; the rest of the package never needs it.
"""
from __future__ import annotations

from workbench.errors import WorkbenchError


def require_pyspark():
    """Return the ``pyspark`` module, or raise a WorkbenchError that says how to install it."""
    try:
        import pyspark
    except ModuleNotFoundError as exc:
        raise WorkbenchError("the Spark engine needs pyspark >= 4: pip install 'workbench[spark]' "
                             "(and Java 17 on the machine)") from exc
    return pyspark
